import CairnCore

extension ConfigLoader {
    static let bandKeys = ["green", "yellow", "margin"]
    static let thresholdKeys = [
        "usageWindowDays", "healthDropPoints", "healthDropDays", "licenseHigh", "licenseLow", "npsDetractorMax",
        "renewalWindows", "maturityYears", "maturityWindowDays", "engagementWindowDays",
    ]

    /// `bands:`, all three numbers: 0 < yellow < green <= 100, and a margin smaller than the yellow band so that
    /// hysteresis cannot skip a band.
    static func bands(_ node: ConfigNode) throws(ConfigError) -> HealthBands {
        let fields = try node.mapping("must be a mapping with green, yellow and margin", allowed: bandKeys)
        var bands = HealthBands.standard
        bands.green = try fields.required("green").int("must be a whole number from 1 to 100") { (1...100).contains($0) }
        let green = bands.green
        bands.yellow = try fields.required("yellow").int("must be a whole number above 0 and below green (\(green))") {
            $0 > 0 && $0 < green
        }
        let width = green - bands.yellow
        bands.margin = try fields.required("margin").int(
            "must be a whole number from 0 to \(width - 1), less than green minus yellow"
        ) { $0 >= 0 && $0 < width }
        return bands
    }

    /// `thresholds:`: each key given overrides that one field of `base`; the result is checked as a whole, and
    /// against `personas` when those are kept from the standard model rather than given in the file.
    static func thresholds(
        _ node: ConfigNode, over base: Thresholds, keeping personas: [String: Persona]?
    ) throws(ConfigError) -> Thresholds {
        let fields = try node.mapping("must be a mapping of threshold: value", allowed: thresholdKeys)
        var thresholds = base
        let days = "must be a whole number of days above 0"
        let positive: (Int) -> Bool = { $0 > 0 }
        let ints: [(String, WritableKeyPath<Thresholds, Int>, String, (Int) -> Bool)] = [
            ("usageWindowDays", \.usageWindowDays, days, positive),
            ("healthDropPoints", \.healthDropPoints, "must be a whole number of points from 1 to 100", { (1...100).contains($0) }),
            ("healthDropDays", \.healthDropDays, days, positive),
            ("npsDetractorMax", \.npsDetractorMax, "must be a whole number from 0 to 10", { (0...10).contains($0) }),
            ("maturityYears", \.maturityYears, "must be a whole number of years above 0", positive),
            ("maturityWindowDays", \.maturityWindowDays, days, positive),
            ("engagementWindowDays", \.engagementWindowDays, days, positive),
        ]
        for (key, field, requirement, valid) in ints {
            if let value = fields[key] { thresholds[keyPath: field] = try value.int(requirement, where: valid) }
        }
        let share = "must be a number from 0 to 1"
        if let value = fields["licenseHigh"] { thresholds.licenseHigh = try value.number(share) { (0...1).contains($0) } }
        if let value = fields["licenseLow"] { thresholds.licenseLow = try value.number(share) { (0...1).contains($0) } }
        if thresholds.licenseLow >= thresholds.licenseHigh {
            if let low = fields["licenseLow"] {
                throw low.error("must be below licenseHigh (\(format(thresholds.licenseHigh)))")
            }
            if let high = fields["licenseHigh"] {
                throw high.error("must be above licenseLow (\(format(thresholds.licenseLow)))")
            }
        }
        if let value = fields["renewalWindows"] { thresholds.renewalWindows = try renewalWindows(value) }
        if let personas, let window = fields["usageWindowDays"] {
            let most = personas.values.map(\.expectedActiveDays).max() ?? 0
            if thresholds.usageWindowDays < most {
                throw window.error(
                    "must be at least \(most) days, the most active days a persona expects (see personas)")
            }
        }
        return thresholds
    }

    /// Days before renewal, earliest first, so each window opens after the one before it.
    static func renewalWindows(_ node: ConfigNode) throws(ConfigError) -> [Int] {
        let elements = try node.list("must be a list of days before renewal, like [120, 90, 60]")
        guard !elements.isEmpty else { throw node.error("must list at least one window") }
        var windows: [Int] = []
        for element in elements {
            let window = try element.int("must be a whole number of days above 0") { $0 > 0 }
            if let previous = windows.last, window >= previous {
                throw element.error("must be below the window before it (\(previous)): list the earliest first")
            }
            windows.append(window)
        }
        return windows
    }
}
