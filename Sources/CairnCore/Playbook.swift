public import Foundation

/// What the escalator knows about an account when it decides on a task.
public struct AccountContext: Sendable, Hashable {
    public var accountId: String
    public var name: String?
    public var csmId: String?
    public var segment: String?
    public var stage: JourneyStage
    public var health: HealthScore?
    /// The account's latest event time: its own clock, "now" for it on the stream clock.
    public var lastEventAt: Date?

    public init(accountId: String, name: String? = nil, csmId: String? = nil, segment: String? = nil,
                stage: JourneyStage = .awareness, health: HealthScore? = nil, lastEventAt: Date? = nil) {
        self.accountId = accountId
        self.name = name
        self.csmId = csmId
        self.segment = segment
        self.stage = stage
        self.health = health
        self.lastEventAt = lastEventAt
    }
}

/// A play: when a signal matches its trigger, the right person gets a task with these steps (or the account gets
/// an automated 1:M message), at most once while one is open and not again within the cool-down.
public struct Playbook: Sendable, Hashable {
    /// What a matching signal turns into.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// A task for a person: the CSM of a high-touch account, a pool for the others.
        case task
        /// An automated message (email or in-app) for low-touch accounts; a task where there is no outreach.
        case outreach
        /// Both: a task and the automated message.
        case taskAndOutreach = "task+outreach"
    }

    /// Which signals start the play. Every condition given must hold.
    public struct Trigger: Sendable, Hashable {
        public var kind: String
        /// `health.band_changed`: the band left and the band entered.
        public var bandFrom: HealthBand?
        public var bandTo: HealthBand?
        /// `contact.role_changed`: the new role.
        public var roles: Set<String>?
        /// The account's stage and band as the signal carries them (the stage at the signal's time, the stage
        /// entered for `stage.entered`, the band once the engine had evaluated it), so a lagging escalator decides
        /// as a prompt one; the account's current ones for a signal without them.
        public var stages: Set<JourneyStage>?
        public var bands: Set<HealthBand>?
        /// `renewal.window_opened`: which windows (days before renewal).
        public var windowDays: Set<Int>?

        public init(
            kind: String, bandFrom: HealthBand? = nil, bandTo: HealthBand? = nil, roles: Set<String>? = nil,
            stages: Set<JourneyStage>? = nil, bands: Set<HealthBand>? = nil, windowDays: Set<Int>? = nil
        ) {
            self.kind = kind
            self.bandFrom = bandFrom
            self.bandTo = bandTo
            self.roles = roles
            self.stages = stages
            self.bands = bands
            self.windowDays = windowDays
        }

        public func matches(_ signal: Signal, account: AccountContext) -> Bool {
            guard signal.kind == kind else { return false }
            if let bandFrom, signal.data["from"]?.stringValue != bandFrom.rawValue { return false }
            if let bandTo, signal.data["to"]?.stringValue != bandTo.rawValue { return false }
            if let roles, !roles.contains(signal.data["role"]?.stringValue ?? "") { return false }
            if let stages, !stages.contains(signal.stage ?? account.stage) { return false }
            if let bands, !((signal.band ?? account.health?.band).map(bands.contains) ?? false) { return false }
            if let windowDays, !windowDays.contains(Int(signal.data["days"]?.doubleValue ?? -1)) { return false }
            return true
        }
    }

    /// The automated 1:M message of a play: content the sending system knows by key, and who receives it.
    public struct Outreach: Sendable, Hashable {
        public var contentKey: String
        /// `email` or `in_app`.
        public var channel: String
        public var personas: [String]

        public init(contentKey: String, channel: String, personas: [String]) {
            self.contentKey = contentKey
            self.channel = channel
            self.personas = personas
        }
    }

    public var id: String
    public var title: String
    public var steps: [String]
    public var priority: String
    /// Business days (Monday to Friday) from the signal to the task's due time.
    public var dueInBusinessDays: Int
    /// No new task of this play for the account within this many days after the last one was closed.
    public var cooldownDays: Int
    public var trigger: Trigger
    public var action: Action
    public var outreach: Outreach?
    /// Segments it applies to; nil for all.
    public var segments: Set<String>?

    public init(
        id: String, title: String, steps: [String], priority: String, dueInBusinessDays: Int, cooldownDays: Int = 0,
        trigger: Trigger, action: Action = .task, outreach: Outreach? = nil, segments: Set<String>? = nil
    ) {
        self.id = id
        self.title = title
        self.steps = steps
        self.priority = priority
        self.dueInBusinessDays = dueInBusinessDays
        self.cooldownDays = cooldownDays
        self.trigger = trigger
        self.action = action
        self.outreach = outreach
        self.segments = segments
    }

    /// Pool for work of accounts whose segment names no pool.
    public static let unassignedPool = "unassigned"
}

/// Who works the tasks: CSMs with their managers and capacity, and pools of people for pooled segments.
public struct Roster: Sendable, Hashable {
    public struct CSM: Sendable, Hashable {
        public var manager: String?
        /// Open tasks beyond which the CSM's manager is told (0: no limit).
        public var capacity: Int

        public init(manager: String? = nil, capacity: Int = 0) {
            self.manager = manager
            self.capacity = capacity
        }
    }

    public struct Pool: Sendable, Hashable {
        public enum Assignment: String, Sendable, Hashable, CaseIterable {
            case roundRobin = "round-robin"
            case leastLoaded = "least-loaded"
        }

        public var members: [String]
        public var assignment: Assignment
        public var manager: String?

        public init(members: [String], assignment: Assignment = .leastLoaded, manager: String? = nil) {
            self.members = members
            self.assignment = assignment
            self.manager = manager
        }
    }

    public var csms: [String: CSM]
    public var pools: [String: Pool]
    /// Receives late tasks of CSMs and pools without a manager of their own.
    public var defaultManager: String?

    public init(csms: [String: CSM] = [:], pools: [String: Pool] = [:], defaultManager: String? = nil) {
        self.csms = csms
        self.pools = pools
        self.defaultManager = defaultManager
    }

    /// The manager who hears about a late task of this assignee.
    public func manager(of assignee: TaskMessage.Assignee) -> String? {
        switch assignee.kind {
        case "csm": csms[assignee.id]?.manager ?? defaultManager
        case "pool": pools[assignee.id]?.manager ?? defaultManager
        default: nil
        }
    }
}

/// An automated 1:M message, published to `cairn.outreach` for the sending system.
public struct OutreachMessage: Sendable, Hashable, Codable {
    public var outreachId: String
    public var accountId: String
    public var accountName: String
    public var playbook: String
    public var contentKey: String
    public var channel: String
    /// Personas to send to (the sending system resolves them to people).
    public var personas: [String]
    public var trigger: TaskMessage.Trigger
    public var createdAt: Date
    public var segment: String

    public func encoded() -> [UInt8] {
        Array(try! JSONEncoder.cairn.encode(self))
    }

    public static func parse(_ bytes: some Collection<UInt8>) throws -> OutreachMessage {
        try JSONDecoder.cairn.decode(OutreachMessage.self, from: Data(bytes))
    }
}

/// What a signal calls for: tasks for people and messages for accounts.
public struct EscalationPlan: Sendable, Hashable {
    public var tasks: [TaskMessage] = []
    public var outreach: [OutreachMessage] = []

    public init(tasks: [TaskMessage] = [], outreach: [OutreachMessage] = []) {
        self.tasks = tasks
        self.outreach = outreach
    }
}

public enum Escalation {
    /// The plays `signal` starts for `account`, routed by its segment's touch model: a high-touch account's tasks
    /// go to its CSM's queue (the segment's pool when it has none); pooled and low-touch accounts' tasks go to
    /// the segment's pool (the store picks the member), never to a named CSM; low-touch accounts get the play's
    /// automated message instead of a task where the play has one. A signal that was older than
    /// `signalMaxAgeDays` when it was raised (or, without `raisedAt`, before `now`) starts nothing. Whether a task
    /// is new, refreshes an open one, or falls in a cool-down is the store's decision.
    public static func plan(
        for signal: Signal, account: AccountContext, configuration: EngineConfiguration = .standard, now: Date,
        makeID: () -> String = { UUID().uuidString.lowercased() }
    ) -> EscalationPlan {
        // Stale: it was already old when the engine found it (a backfill, a replay of history). Measured against
        // when it was raised, not when it is handled, so a lagging escalator decides the same.
        let reference = signal.raisedAt ?? now
        guard signal.at >= reference.addingTimeInterval(-Double(configuration.thresholds.signalMaxAgeDays) * 86_400) else {
            return EscalationPlan()
        }
        let segment = account.segment.flatMap { name in configuration.segments.first { $0.name == name } }
        let touch = segment?.touch ?? .high
        let pool = segment?.pool ?? Playbook.unassignedPool
        var plan = EscalationPlan()
        for playbook in configuration.playbooks where playbook.trigger.matches(signal, account: account) {
            if let segments = playbook.segments, !segments.contains(segment?.name ?? "") { continue }
            let trigger = TaskMessage.Trigger(kind: signal.kind, at: signal.at, detail: signal.data)
            let lowTouch = touch == .low
            let sendsOutreach = playbook.outreach != nil
                && (playbook.action == .taskAndOutreach || (playbook.action == .outreach && lowTouch))
            let makesTask = !(playbook.action == .outreach && lowTouch && playbook.outreach != nil)
            if sendsOutreach, let outreach = playbook.outreach {
                plan.outreach.append(
                    OutreachMessage(
                        outreachId: "\(playbook.id)/\(account.accountId)/\(signal.signalId)", accountId: account.accountId,
                        accountName: account.name ?? account.accountId, playbook: playbook.id,
                        contentKey: outreach.contentKey, channel: outreach.channel, personas: outreach.personas,
                        trigger: trigger, createdAt: now, segment: segment?.name ?? "default"))
            }
            guard makesTask else { continue }
            // Only high-touch accounts have a named CSM's queue; pooled and low-touch work goes to the pool.
            let assignee: TaskMessage.Assignee =
                if touch == .high, let csm = account.csmId { .init(kind: "csm", id: csm) } else { .init(kind: "pool", id: pool) }
            plan.tasks.append(
                TaskMessage(
                    taskId: makeID(), accountId: account.accountId, accountName: account.name ?? account.accountId,
                    playbook: playbook.id, title: playbook.title, trigger: trigger, priority: playbook.priority, createdAt: now,
                    dueAt: addBusinessDays(playbook.dueInBusinessDays, to: signal.at),
                    assignee: assignee, steps: playbook.steps,
                    health: .init(
                        score: account.health?.score, band: account.health?.band.rawValue,
                        previousBand: signal.kind == SignalKind.healthBandChanged ? signal.data["from"]?.stringValue : nil),
                    stage: account.stage.rawValue, segment: segment?.name ?? "default",
                    links: ["account": "/accounts/\(account.accountId)"]))
        }
        return plan
    }

    /// `days` working days (Monday to Friday, UTC) after `date`.
    public static func addBusinessDays(_ days: Int, to date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var result = date
        var left = days
        while left > 0 {
            result = result.addingTimeInterval(86_400)
            let weekday = calendar.component(.weekday, from: result)
            if weekday != 1 && weekday != 7 { left -= 1 }
        }
        return result
    }
}
