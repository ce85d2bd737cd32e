import CairnCore

extension ConfigLoader {
    /// `events:`, source event name → canonical event name. Unmapped events count as product usage, so only
    /// business events need mapping.
    static func eventNames(_ node: ConfigNode) throws(ConfigError) -> [String: String] {
        let fields = try node.mapping("must be a mapping of source event name: canonical event name", allowed: nil)
        var names: [String: String] = [:]
        for entry in fields.entries {
            let target = try entry.value.text("must be a canonical event name")
            guard CanonicalEvent.all.contains(target) else {
                throw entry.value.error(notCanonical(target, what: "a canonical event name"))
            }
            names[entry.key] = target
        }
        return names
    }
}
