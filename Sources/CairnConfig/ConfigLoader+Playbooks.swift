import CairnCore

extension ConfigLoader {
    static let playbookKeys = [
        "id", "title", "steps", "priority", "dueInBusinessDays", "cooldownDays", "trigger", "action", "outreach", "segments",
    ]
    static let triggerKeys = ["kind", "bandFrom", "bandTo", "roles", "stages", "bands", "windowDays"]
    static let outreachKeys = ["contentKey", "channel", "personas"]
    static let priorities = ["P1", "P2", "P3", "P4"]

    /// `playbooks:`, the plays the escalator runs; the list replaces the shipped catalogue.
    static func playbooks(_ node: ConfigNode, segments: [String]) throws(ConfigError) -> [Playbook] {
        let items = try node.list("must be a list of playbooks")
        var playbooks: [Playbook] = []
        var seen: Set<String> = []
        for item in items {
            let fields = try item.mapping("must be a mapping with id, title, steps, priority, dueInBusinessDays and trigger", allowed: playbookKeys)
            let idNode = try fields.required("id")
            let id = try idNode.text()
            guard seen.insert(id).inserted else { throw idNode.error("duplicate playbook id \(id)") }
            let title = try fields.required("title").text()
            let steps = try fields.required("steps").texts("must be a list of steps", empty: "must list at least one step").map(\.value)
            let priorityNode = try fields.required("priority")
            let priority = try priorityNode.text()
            guard priorities.contains(priority) else { throw priorityNode.error("must be one of \(listing(priorities))") }
            let due = try fields.required("dueInBusinessDays").int("must be a whole number of days from 0 to 365") { (0...365).contains($0) }
            let cooldown = try fields["cooldownDays"]?.int("must be a whole number of days from 0 to 3650") { (0...3650).contains($0) } ?? 0
            let trigger = try self.trigger(try fields.required("trigger"))
            var action = Playbook.Action.task
            if let actionNode = fields["action"] {
                let text = try actionNode.text()
                guard let value = Playbook.Action(rawValue: text) else {
                    throw actionNode.error("must be one of \(listing(Playbook.Action.allCases.map(\.rawValue)))")
                }
                action = value
            }
            var outreach: Playbook.Outreach?
            if let outreachNode = fields["outreach"] {
                let settings = try outreachNode.mapping("must be a mapping with contentKey, channel and personas", allowed: outreachKeys)
                let channelNode = try settings.required("channel")
                let channel = try channelNode.text()
                guard ["email", "in_app"].contains(channel) else { throw channelNode.error("must be email or in_app") }
                let personas = try settings.required("personas").texts("must be a list of personas", empty: "must list at least one persona")
                for (name, element) in personas where !personaNames.contains(name) {
                    throw element.error("not a persona; one of \(listing(personaNames))")
                }
                outreach = Playbook.Outreach(
                    contentKey: try settings.required("contentKey").text(), channel: channel, personas: personas.map(\.value))
            }
            if action != .task, outreach == nil {
                throw (fields["action"] ?? item).error("action \(action.rawValue) needs an outreach section")
            }
            var only: Set<String>?
            if let segmentsNode = fields["segments"] {
                let names = try segmentsNode.texts("must be a list of segment names", empty: "must list at least one segment (leave it out for all)")
                for (name, element) in names where !segments.contains(name) {
                    let hint = nearest(name, in: segments).map { "; did you mean \($0)?" } ?? ""
                    throw element.error("no segment named \(name)\(hint) (segments: \(listing(segments)))")
                }
                only = Set(names.map(\.value))
            }
            playbooks.append(
                Playbook(
                    id: id, title: title, steps: steps, priority: priority, dueInBusinessDays: due, cooldownDays: cooldown,
                    trigger: trigger, action: action, outreach: outreach, segments: only))
        }
        return playbooks
    }

    static func trigger(_ node: ConfigNode) throws(ConfigError) -> Playbook.Trigger {
        let fields = try node.mapping("must be a mapping with kind and conditions", allowed: triggerKeys)
        let kindNode = try fields.required("kind")
        let kind = try kindNode.text()
        guard SignalKind.all.contains(kind) else {
            let hint = nearest(kind, in: SignalKind.all).map { "; did you mean \($0)?" } ?? ""
            throw kindNode.error("not a signal kind\(hint) (kinds: \(listing(SignalKind.all)))")
        }
        func band(_ key: String) throws(ConfigError) -> HealthBand? {
            guard let node = fields[key] else { return nil }
            guard let band = HealthBand(rawValue: try node.text()) else { throw node.error("must be green, yellow or red") }
            return band
        }
        var trigger = Playbook.Trigger(kind: kind, bandFrom: try band("bandFrom"), bandTo: try band("bandTo"))
        if let node = fields["roles"] {
            trigger.roles = Set(try node.texts("must be a list of roles", empty: "must list at least one role").map(\.value))
        }
        if let node = fields["stages"] {
            var stages: Set<JourneyStage> = []
            for (name, element) in try node.texts("must be a list of stages", empty: "must list at least one stage") {
                guard let stage = JourneyStage(rawValue: name) else {
                    throw element.error("not a stage; one of \(listing(JourneyStage.allCases.map(\.rawValue)))")
                }
                stages.insert(stage)
            }
            trigger.stages = stages
        }
        if let node = fields["bands"] {
            var bands: Set<HealthBand> = []
            for (name, element) in try node.texts("must be a list of bands", empty: "must list at least one band") {
                guard let value = HealthBand(rawValue: name) else { throw element.error("must be green, yellow or red") }
                bands.insert(value)
            }
            trigger.bands = bands
        }
        if let node = fields["windowDays"] {
            var days: Set<Int> = []
            for element in try node.list("must be a list of days") {
                days.insert(try element.int("must be a whole number of days above 0") { $0 > 0 })
            }
            trigger.windowDays = days
        }
        return trigger
    }

    /// `roster:` with `csms` (id: {manager, capacity}), `pools` (name: {members, assignment, manager}) and
    /// `defaultManager`.
    static func roster(_ node: ConfigNode) throws(ConfigError) -> Roster {
        let fields = try node.mapping("must be a mapping with csms, pools and defaultManager", allowed: ["csms", "pools", "defaultManager"])
        var roster = Roster()
        if let csms = fields["csms"] {
            for entry in try csms.mapping("must be a mapping of CSM id: settings", allowed: nil).entries {
                var csm = Roster.CSM()
                if !entry.value.isNull {
                    let settings = try entry.value.mapping("must be a mapping with manager and capacity", allowed: ["manager", "capacity"])
                    csm.manager = try settings["manager"]?.text()
                    csm.capacity = try settings["capacity"]?.int("must be a whole number of tasks, 0 for no limit") { $0 >= 0 } ?? 0
                }
                roster.csms[entry.key] = csm
            }
        }
        if let pools = fields["pools"] {
            for entry in try pools.mapping("must be a mapping of pool name: settings", allowed: nil).entries {
                let settings = try entry.value.mapping("must be a mapping with members, assignment and manager", allowed: ["members", "assignment", "manager"])
                let members = try settings.required("members").texts("must be a list of people", empty: "must list at least one member")
                var assignment = Roster.Pool.Assignment.leastLoaded
                if let node = settings["assignment"] {
                    guard let value = Roster.Pool.Assignment(rawValue: try node.text()) else {
                        throw node.error("must be one of \(listing(Roster.Pool.Assignment.allCases.map(\.rawValue)))")
                    }
                    assignment = value
                }
                roster.pools[entry.key] = Roster.Pool(
                    members: members.map(\.value), assignment: assignment, manager: try settings["manager"]?.text())
            }
        }
        roster.defaultManager = try fields["defaultManager"]?.text()
        return roster
    }
}
