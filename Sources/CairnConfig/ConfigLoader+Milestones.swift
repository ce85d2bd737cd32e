import CairnCore

extension ConfigLoader {
    static let milestoneKeys = ["name", "event", "dueDays", "segments"]

    /// `milestones:`, each reached by a canonical event (or the first product use) and due some days after signing.
    static func milestones(_ node: ConfigNode, segments: [String]) throws(ConfigError) -> [Milestone] {
        let items = try node.list("must be a list of milestones")
        var milestones: [Milestone] = []
        var firstPaths: [String: String] = [:]
        for item in items {
            let fields = try item.mapping("must be a mapping with name, event and dueDays", allowed: milestoneKeys)
            let nameNode = try fields.required("name")
            let name = try nameNode.text()
            if let first = firstPaths[name] {
                throw nameNode.error("duplicate milestone name \(name) (also \(first))")
            }
            firstPaths[name] = nameNode.path
            let eventNode = try fields.required("event")
            let event = try eventNode.text("must be a canonical event name or \(Milestone.firstUse)")
            if event != Milestone.firstUse, !CanonicalEvent.all.contains(event) {
                throw eventNode.error(
                    notCanonical(event, what: "a canonical event name or \(Milestone.firstUse)", extra: [Milestone.firstUse]))
            }
            let dueDays = try fields.required("dueDays").int("must be a whole number of days above 0") { $0 > 0 }
            var only: Set<String>?
            if let segmentsNode = fields["segments"] {
                let names = try segmentsNode.texts(
                    "must be a list of segment names", empty: "must list at least one segment (leave it out for all)")
                for (name, element) in names where !segments.contains(name) {
                    let hint = nearest(name, in: segments).map { "; did you mean \($0)?" } ?? ""
                    throw element.error("no segment named \(name)\(hint) (segments: \(listing(segments)))")
                }
                only = Set(names.map(\.value))
            }
            milestones.append(Milestone(name: name, event: event, dueDays: dueDays, segments: only))
        }
        return milestones
    }

    /// "not <what>", with the nearest canonical name as a hint, or the list of them when none is near.
    static func notCanonical(_ name: String, what: String, extra: [String] = []) -> String {
        let names = CanonicalEvent.all.sorted() + extra
        if let near = nearest(name, in: names) { return "not \(what); did you mean \(near)?" }
        return "not \(what); one of \(listing(names))"
    }
}
