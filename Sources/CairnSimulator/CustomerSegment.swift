/// Customer segments the simulator draws accounts from. The raw value is what the ground truth holds.
public enum CustomerSegment: String, Sendable, Hashable, Codable, CaseIterable {
    case smb
    case midMarket = "mid-market"
    case enterprise
}

/// What is typical of a segment: sizes, prices, speeds and rates. Ranges are in days unless named otherwise.
struct SegmentProfile: Sendable {
    /// Seats: lognormal median and spread, clamped to the range.
    var seatsMedian: Double
    var seatsSigma: Double
    var seatsRange: ClosedRange<Int>
    /// List price per seat and year, in dollars; the ARR is seats × price × a lognormal discount, clamped.
    var pricePerSeat: Double
    var arrRange: ClosedRange<Int>
    var plans: [(String, Double)]
    /// Contract terms in years, with weights.
    var termsYears: [(Int, Double)]
    /// Simulated people: the sample of seats whose behaviour is generated (a seat count in the thousands would
    /// only multiply the volume, not the signal).
    var admins: ClosedRange<Int>
    var endUsers: ClosedRange<Int>
    var incidentUsers: ClosedRange<Int>
    /// Days from signing to kickoff, from kickoff to implementation, from implementation to onboarding.
    var kickoffDelay: ClosedRange<Int>
    var implementationDelay: ClosedRange<Int>
    var onboardingDelay: ClosedRange<Int>
    /// Chance that onboarding stalls for a recently signed account (before a milestone, never reaching it).
    var stallChance: Double
    /// Chances of churning and of expanding within 180 days (scaled to the length of the period, up to a year).
    var churnChance: Double
    var expansionChance: Double
    /// Support tickets per week for a healthy account.
    var ticketsPerWeek: Double
    /// Whether the segment gets a named CSM from the roster, and days between CSM touchpoints.
    var highTouch: Bool
    var touchpointInterval: ClosedRange<Int>
    /// Days between invoices.
    var billingInterval: Int

    static func of(_ segment: CustomerSegment) -> SegmentProfile {
        switch segment {
        case .smb: smb
        case .midMarket: midMarket
        case .enterprise: enterprise
        }
    }

    static let smb = SegmentProfile(
        seatsMedian: 15, seatsSigma: 0.6, seatsRange: 5...50, pricePerSeat: 600, arrRange: 3_000...30_000,
        plans: [("starter", 0.55), ("team", 0.45)], termsYears: [(1, 1)], admins: 1...1, endUsers: 2...5,
        incidentUsers: 0...1, kickoffDelay: 1...5, implementationDelay: 5...15, onboardingDelay: 5...15,
        stallChance: 0.15, churnChance: 0.14, expansionChance: 0.08, ticketsPerWeek: 0.15, highTouch: false,
        touchpointInterval: 90...150, billingInterval: 30)

    static let midMarket = SegmentProfile(
        seatsMedian: 100, seatsSigma: 0.5, seatsRange: 40...300, pricePerSeat: 600, arrRange: 30_000...150_000,
        plans: [("team", 0.3), ("business", 0.7)], termsYears: [(1, 0.8), (2, 0.2)], admins: 1...2, endUsers: 5...10,
        incidentUsers: 1...2, kickoffDelay: 3...10, implementationDelay: 14...35, onboardingDelay: 10...25,
        stallChance: 0.15, churnChance: 0.10, expansionChance: 0.14, ticketsPerWeek: 0.3, highTouch: true,
        touchpointInterval: 30...60, billingInterval: 91)

    static let enterprise = SegmentProfile(
        seatsMedian: 800, seatsSigma: 0.7, seatsRange: 200...5_000, pricePerSeat: 450, arrRange: 150_000...2_000_000,
        plans: [("enterprise", 1)], termsYears: [(1, 0.4), (2, 0.3), (3, 0.3)], admins: 2...3, endUsers: 10...20,
        incidentUsers: 2...4, kickoffDelay: 7...21, implementationDelay: 30...90, onboardingDelay: 20...45,
        stallChance: 0.12, churnChance: 0.07, expansionChance: 0.20, ticketsPerWeek: 0.8, highTouch: true,
        touchpointInterval: 14...28, billingInterval: 91)
}
