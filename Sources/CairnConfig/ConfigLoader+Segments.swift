import CairnCore

extension ConfigLoader {
    static let segmentKeys = ["name", "touch", "pool", "when", "weights"]
    static let conditionKeys = ["minARR", "maxARR", "minSeats", "maxSeats", "plans", "regions"]

    /// `segments:`, an ordered list where the first match wins, so only the last segment may (and must) match every
    /// account.
    static func segments(_ node: ConfigNode) throws(ConfigError) -> [Segment] {
        let items = try node.list("must be a list of segments")
        guard !items.isEmpty else { throw node.error("must list at least one segment") }
        var segments: [Segment] = []
        var firstPaths: [String: String] = [:]
        for (index, item) in items.enumerated() {
            let fields = try item.mapping("must be a mapping with name, touch, when and weights", allowed: segmentKeys)
            let nameNode = try fields.required("name")
            let name = try nameNode.text()
            if let first = firstPaths[name] {
                throw nameNode.error("duplicate segment name \(name) (also \(first))")
            }
            firstPaths[name] = nameNode.path
            let touchNode = try fields.required("touch")
            let touchModels = listing(TouchModel.allCases.map(\.rawValue))
            guard let touch = TouchModel(rawValue: try touchNode.text("must be one of \(touchModels)")) else {
                throw touchNode.error("must be one of \(touchModels)")
            }
            let pool = try fields["pool"]?.text() ?? name
            var rule = SegmentRule()
            if let when = fields["when"] { rule = try self.rule(when) }
            try checkCatchAll(rule, isLast: index == items.count - 1, item: item, when: fields["when"])
            let weights = try weights(try fields.required("weights"))
            segments.append(Segment(name: name, touch: touch, pool: pool, rule: rule, weights: weights))
        }
        return segments
    }

    /// First match wins: a segment without conditions before the end would hide the ones after it, and a last
    /// segment with conditions would leave some accounts without a segment.
    static func checkCatchAll(_ rule: SegmentRule, isLast: Bool, item: ConfigNode, when: ConfigNode?) throws(ConfigError) {
        let matchesAll = rule == SegmentRule()
        let key = ConfigNode.path(item.path, "when")
        if isLast, !matchesAll, let when {
            throw ConfigError(
                file: item.file, line: when.line, key: key,
                message: "the last segment must have no conditions, so that every account has a segment")
        }
        if !isLast, matchesAll {
            throw ConfigError(
                file: item.file, line: when?.line ?? item.line, key: key,
                message: "only the last segment may match every account: give this one conditions or move it last")
        }
    }

    /// `when:`: all given conditions must hold. Maxima are exclusive, as `SegmentRule` applies them.
    static func rule(_ node: ConfigNode) throws(ConfigError) -> SegmentRule {
        let fields = try node.mapping(
            "must be a mapping of conditions (\(listing(conditionKeys)))", allowed: conditionKeys)
        var rule = SegmentRule()
        let amount = "must be an amount of ARR of at least 0"
        rule.minARR = try fields["minARR"]?.number(amount) { $0 >= 0 }
        rule.maxARR = try fields["maxARR"]?.number(amount) { $0 >= 0 }
        if let minimum = rule.minARR, let maximum = rule.maxARR, maximum <= minimum {
            throw fields["maxARR"]!.error("must be above minARR (\(format(minimum)))")
        }
        let seats = "must be a whole number of seats of at least 0"
        rule.minSeats = try fields["minSeats"]?.int(seats) { $0 >= 0 }
        rule.maxSeats = try fields["maxSeats"]?.int(seats) { $0 >= 0 }
        if let minimum = rule.minSeats, let maximum = rule.maxSeats, maximum <= minimum {
            throw fields["maxSeats"]!.error("must be above minSeats (\(minimum))")
        }
        if let plans = fields["plans"] {
            rule.plans = Set(try plans.texts("must be a list of plan names", empty: "must list at least one plan").map(\.value))
        }
        if let regions = fields["regions"] {
            rule.regions = Set(
                try regions.texts("must be a list of region names", empty: "must list at least one region").map(\.value))
        }
        return rule
    }

    /// `weights:`, one per health component; a component left out weighs 0. The engine normalises them, so they need
    /// not add up to 1, but at least one must count.
    static func weights(_ node: ConfigNode) throws(ConfigError) -> [String: Double] {
        let components = EngineConfiguration.components
        let fields = try node.mapping(
            "must be a mapping of health component: weight", allowed: components, unknown: "not a health component")
        var weights = Dictionary(uniqueKeysWithValues: components.map { ($0, 0.0) })
        for entry in fields.entries {
            weights[entry.key] = try entry.value.number("must be a number from 0 to 1") { (0...1).contains($0) }
        }
        guard weights.values.contains(where: { $0 > 0 }) else {
            throw node.error("at least one weight must be above 0")
        }
        return weights
    }
}
