/// The customer-success model the engine applies: segments, personas, milestones with SLAs, the health model
/// and its bands, and the thresholds that raise signals. `standard` is the shipped model; `cairn.yaml`
/// (`CAIRN_CONFIG`) replaces any part of it.
public struct EngineConfiguration: Sendable, Hashable {
    /// Ordered: the first segment whose rule matches an account is its segment; the last should match everything.
    public var segments: [Segment]
    /// Expected activity per persona (`admin`, `champion`, `sponsor`, `end_user`).
    public var personas: [String: Persona]
    /// Milestones every journey tracks, with their SLAs.
    public var milestones: [Milestone]
    public var bands: HealthBands
    public var thresholds: Thresholds
    /// Source event names mapped to canonical ones (`"Deal Won": "contract.signed"`).
    public var eventNames: [String: String]
    /// The plays the escalator runs; the shipped catalogue by default.
    public var playbooks: [Playbook] = Playbook.catalogue
    /// CSMs, pools and managers.
    public var roster = Roster()

    public init(
        segments: [Segment], personas: [String: Persona], milestones: [Milestone], bands: HealthBands,
        thresholds: Thresholds, eventNames: [String: String] = [:]
    ) {
        self.segments = segments
        self.personas = personas
        self.milestones = milestones
        self.bands = bands
        self.thresholds = thresholds
        self.eventNames = eventNames
    }

    /// The canonical name of a track event, after the configured mapping.
    public func canonicalName(_ event: AccountEvent) -> String? {
        guard event.type == .track, let name = event.event else { return nil }
        return eventNames[name] ?? name
    }

    /// Product usage, as opposed to a canonical business event: anything tracked outside the vocabulary.
    public func isProductUsage(_ event: AccountEvent) -> Bool {
        guard let name = canonicalName(event) else { return false }
        return !CanonicalEvent.all.contains(name)
    }

    /// The segment of an account with these attributes.
    public func segment(for attributes: SegmentAttributes) -> Segment {
        segments.first { $0.rule.matches(attributes) } ?? segments[segments.count - 1]
    }
}

/// How an account is served, which decides where its tasks go.
public enum TouchModel: String, Sendable, Hashable, CaseIterable {
    /// 1:1, a named CSM.
    case high
    /// A pooled team works the tasks.
    case pooled
    /// 1:M, automated outreach only.
    case low
}

public struct Segment: Sendable, Hashable {
    public var name: String
    public var touch: TouchModel
    /// The pool low-touch and unassigned work of this segment goes to.
    public var pool: String
    public var rule: SegmentRule
    /// Weight of each health component (names in `HealthModel.components`); normalised to sum 1.
    public var weights: [String: Double]

    public init(name: String, touch: TouchModel, pool: String, rule: SegmentRule, weights: [String: Double]) {
        self.name = name
        self.touch = touch
        self.pool = pool
        self.rule = rule
        self.weights = weights
    }
}

/// What a segment rule looks at.
public struct SegmentAttributes: Sendable, Hashable {
    public var arr: Double?
    public var seats: Int?
    public var plan: String?
    public var region: String?

    public init(arr: Double? = nil, seats: Int? = nil, plan: String? = nil, region: String? = nil) {
        self.arr = arr
        self.seats = seats
        self.plan = plan
        self.region = region
    }
}

/// All given conditions must hold; an empty rule matches every account.
public struct SegmentRule: Sendable, Hashable {
    public var minARR: Double?
    public var maxARR: Double?
    public var minSeats: Int?
    public var maxSeats: Int?
    public var plans: Set<String>?
    public var regions: Set<String>?

    public init(
        minARR: Double? = nil, maxARR: Double? = nil, minSeats: Int? = nil, maxSeats: Int? = nil,
        plans: Set<String>? = nil, regions: Set<String>? = nil
    ) {
        self.minARR = minARR
        self.maxARR = maxARR
        self.minSeats = minSeats
        self.maxSeats = maxSeats
        self.plans = plans
        self.regions = regions
    }

    public func matches(_ attributes: SegmentAttributes) -> Bool {
        if let minARR, (attributes.arr ?? 0) < minARR { return false }
        if let maxARR, let arr = attributes.arr, arr >= maxARR { return false }
        if let minSeats, (attributes.seats ?? 0) < minSeats { return false }
        if let maxSeats, let seats = attributes.seats, seats >= maxSeats { return false }
        if let plans, !attributes.plan.map(plans.contains).orFalse { return false }
        if let regions, !attributes.region.map(regions.contains).orFalse { return false }
        return true
    }
}

/// How often a persona is expected to use the product.
public struct Persona: Sendable, Hashable {
    /// Active days expected in the usage window (`Thresholds.usageWindowDays`); 0 for incident-driven users,
    /// whose silence is never penalised.
    public var expectedActiveDays: Int
    /// Share of the usage component this persona's users carry, relative to the other personas.
    public var weight: Double

    public init(expectedActiveDays: Int, weight: Double) {
        self.expectedActiveDays = expectedActiveDays
        self.weight = weight
    }
}

/// A milestone: reached when its event first happens; due `dueDays` after the contract was signed.
public struct Milestone: Sendable, Hashable {
    public var name: String
    /// The canonical event that reaches it; `product.first_use` is the first product usage (first value).
    public var event: String
    public var dueDays: Int
    /// Segments it applies to; nil for every segment.
    public var segments: Set<String>?

    public init(name: String, event: String, dueDays: Int, segments: Set<String>? = nil) {
        self.name = name
        self.event = event
        self.dueDays = dueDays
        self.segments = segments
    }

    /// The pseudo-event that marks the first product usage after signing.
    public static let firstUse = "product.first_use"
}

/// Numbers that turn facts into signals and component scores.
public struct Thresholds: Sendable, Hashable {
    /// Days of usage the usage component looks back over.
    public var usageWindowDays = 14
    /// A fall of at least `healthDropPoints` within `healthDropDays` raises `health.dropped`.
    public var healthDropPoints = 20
    public var healthDropDays = 14
    /// Licence utilisation (assigned / purchased) at or above this raises `license.utilization_high`.
    public var licenseHigh = 0.9
    /// Utilisation below this, once onboarding is over, raises `license.underused`.
    public var licenseLow = 0.5
    /// NPS scores at or below this are detractors.
    public var npsDetractorMax = 6
    /// Days before the renewal date at which `renewal.window_opened` is raised.
    public var renewalWindows = [120, 90, 60]
    /// Years between maturity checks (team change, goals review).
    public var maturityYears = 3
    /// Days around an anniversary during which the maturity component expects a review.
    public var maturityWindowDays = 60
    /// Days a touchpoint or training keeps the engagement component up.
    public var engagementWindowDays = 60
    /// Signals older than this (against the evaluation clock) start no play: a replay or a backfill of old
    /// history does not flood the queues with tasks about the past.
    public var signalMaxAgeDays = 30

    public init() {}
}

extension Optional where Wrapped == Bool {
    var orFalse: Bool { self ?? false }
}

extension EngineConfiguration {
    /// The names of the health components, in the order they are reported.
    public static let components = [
        "usage", "adoption", "licenses", "support", "sentiment", "billing", "engagement", "relationship", "maturity",
    ]

    /// The shipped model: three segments by ARR, the four personas, the first-90-days milestones.
    public static let standard = EngineConfiguration(
        segments: [
            Segment(
                name: "enterprise", touch: .high, pool: "enterprise", rule: SegmentRule(minARR: 150_000),
                // High touch: the people (key users active, champion and sponsor in place) weigh most.
                weights: [
                    "usage": 0.30, "adoption": 0.10, "licenses": 0.10, "support": 0.05, "sentiment": 0.05,
                    "billing": 0.05, "engagement": 0.03, "relationship": 0.30, "maturity": 0.02,
                ]),
            Segment(
                name: "mid-market", touch: .pooled, pool: "mid-market", rule: SegmentRule(minARR: 30_000),
                weights: [
                    "usage": 0.25, "adoption": 0.15, "licenses": 0.10, "support": 0.10, "sentiment": 0.10,
                    "billing": 0.10, "engagement": 0.05, "relationship": 0.10, "maturity": 0.05,
                ]),
            Segment(
                name: "smb", touch: .low, pool: "smb", rule: SegmentRule(),
                weights: [
                    "usage": 0.35, "adoption": 0.20, "licenses": 0.10, "support": 0.10, "sentiment": 0.10,
                    "billing": 0.10, "engagement": 0.0, "relationship": 0.05, "maturity": 0.0,
                ]),
        ],
        personas: [
            "admin": Persona(expectedActiveDays: 8, weight: 3),
            "champion": Persona(expectedActiveDays: 8, weight: 3),
            "sponsor": Persona(expectedActiveDays: 1, weight: 1),
            "end_user": Persona(expectedActiveDays: 0, weight: 1),
        ],
        milestones: [
            Milestone(name: "kickoff", event: CanonicalEvent.kickoffCompleted, dueDays: 7),
            Milestone(name: "first_value", event: Milestone.firstUse, dueDays: 30),
            Milestone(name: "onboarding_done", event: CanonicalEvent.onboardingCompleted, dueDays: 90),
        ],
        bands: .standard, thresholds: Thresholds())
}
