/// Word lists and catalogues the simulator draws names, regions and product features from.
enum Vocabulary {
    struct Region: Sendable {
        var name: String
        /// UTC offset of the region's business hours, in hours.
        var utcOffset: Int
    }

    static let regions: [(Region, Double)] = [
        (Region(name: "na", utcOffset: -5), 0.45), (Region(name: "emea", utcOffset: 1), 0.33),
        (Region(name: "apac", utcOffset: 8), 0.15), (Region(name: "latam", utcOffset: -3), 0.07),
    ]

    static let industries = [
        "software", "retail", "healthcare", "financial services", "manufacturing", "education", "media", "logistics",
        "professional services", "public sector",
    ]

    static let companyFirst = [
        "North", "Blue", "Bright", "Silver", "Red", "Green", "Iron", "Cedar", "Summit", "Harbor", "Stone", "Clear",
        "Swift", "Maple", "Golden", "River", "Pine", "Atlas", "Nova", "Lumen", "Oak", "Granite", "Falcon", "Coral",
    ]
    static let companySecond = [
        "wind", "field", "bridge", "path", "point", "wave", "gate", "crest", "light", "stream", "forge", "leaf",
        "peak", "line", "works", "stack", "base", "sky", "rock", "mark",
    ]
    static let companySuffix = ["Labs", "Systems", "Group", "Inc.", "Health", "Logistics", "Retail", "Partners", "Co."]

    static let firstNames = [
        "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jamal", "Kira", "Liam", "Mina",
        "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wei", "Yara", "Zane",
    ]
    static let lastNames = [
        "Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kim", "Lopez",
        "Moreau", "Novak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Yilmaz", "Zhou",
    ]

    /// Product usage events: (event name, `feature` property). Each account adopts them in its own order.
    static let features: [(String, String)] = [
        ("Dashboard Viewed", "dashboards"), ("Report Exported", "reports"), ("Report Created", "reports"),
        ("Search Performed", "search"), ("Workflow Run", "automation"), ("Alert Configured", "alerts"),
        ("Comment Added", "collaboration"), ("Data Imported", "data"), ("Integration Synced", "integrations"),
        ("API Call Made", "api"), ("Forecast Viewed", "forecasting"), ("CustomerSegment Built", "segments"),
    ]
    /// Admins' own work, besides the features above.
    static let adminFeatures: [(String, String)] = [
        ("User Invited", "administration"), ("Settings Updated", "administration"),
        ("Permissions Changed", "administration"),
    ]

    static let churnReasons: [(String, Double)] = [
        ("budget", 0.3), ("low_adoption", 0.25), ("competitor", 0.2), ("champion_left", 0.15), ("acquired", 0.1),
    ]
}
