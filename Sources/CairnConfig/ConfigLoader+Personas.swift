import CairnCore

extension ConfigLoader {
    /// The personas `identify` traits carry (CONTRACT.md); the file must define each, and no others.
    static let personaNames = ["admin", "champion", "sponsor", "end_user"]

    /// `personas:`, expected activity per persona.
    static func personas(_ node: ConfigNode, usageWindowDays: Int) throws(ConfigError) -> [String: Persona] {
        let fields = try node.mapping(
            "must be a mapping of persona: settings (\(listing(personaNames)))", allowed: personaNames,
            unknown: "not a persona")
        for name in personaNames where !fields.contains(name) {
            throw ConfigError(
                file: node.file, line: node.line, key: ConfigNode.path(node.path, name),
                message: "missing persona; define each of \(listing(personaNames))")
        }
        var personas: [String: Persona] = [:]
        for entry in fields.entries {
            let settings = try entry.value.mapping(
                "must be a mapping with expectedActiveDays and weight", allowed: ["expectedActiveDays", "weight"])
            let days = try settings.required("expectedActiveDays").int(
                "must be a whole number of days from 0 to \(usageWindowDays) (thresholds.usageWindowDays)"
            ) { (0...usageWindowDays).contains($0) }
            let weight = try settings.required("weight").number("must be a number of at least 0") { $0 >= 0 }
            personas[entry.key] = Persona(expectedActiveDays: days, weight: weight)
        }
        return personas
    }
}
