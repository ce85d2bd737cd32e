public import Foundation
import CairnCore

/// What to simulate: how many accounts, how many days from which day, and the seed that makes it reproducible.
public struct SimulationConfiguration: Sendable, Hashable {
    /// Accounts in the customer base (at least 1).
    public var accounts: Int
    /// Simulated days (at least 1).
    public var days: Int
    /// The same seed and configuration give the same events, byte for byte.
    public var seed: UInt64
    /// The first simulated day, midnight UTC (a time of day given here is dropped).
    public var start: Date

    /// Share of accounts in each segment; normalised, so only the ratios matter. Default 60% SMB, 28% mid-market,
    /// 12% enterprise.
    public var segmentMix: [CustomerSegment: Double] = [.smb: 0.60, .midMarket: 0.28, .enterprise: 0.12]
    /// CSMs that high-touch accounts (mid-market and enterprise) are assigned to, round the roster.
    public var csmRoster: [String] = [
        "dana", "li", "omar", "sofia", "kai", "maya", "jonas", "ines", "ravi", "zoe", "amir", "lena",
    ]
    /// Share of accounts that sign during the simulated period rather than before it. Default 0.1.
    public var newCustomerShare = 0.1
    /// Multiplies how often simulated people use the product (1 = about 3 usage events per account per day on
    /// average); lower it for lighter streams.
    public var usageScale = 1.0

    /// Defaults: 2000 accounts over 180 days from 2026-01-01, seed 1.
    public init(accounts: Int = 2_000, days: Int = 180, seed: UInt64 = 1, start: Date = Self.defaultStart) {
        self.accounts = accounts
        self.days = days
        self.seed = seed
        self.start = start
    }

    /// 2026-01-01T00:00:00Z.
    public static let defaultStart = Date(timeIntervalSince1970: 1_767_225_600)

    /// Midnight UTC of an ISO date (`2026-01-01`), or nil if it is not one.
    public static func date(fromISODay text: String) -> Date? {
        CivilDate(iso: text)?.date
    }

    /// The first problem with the configuration, if any.
    public var problem: String? {
        if accounts < 1 { return "accounts must be at least 1" }
        if days < 1 { return "days must be at least 1" }
        if segmentMix.values.contains(where: { $0 < 0 }) || segmentMix.values.reduce(0, +) <= 0 {
            return "segmentMix needs non-negative shares that do not all equal zero"
        }
        if csmRoster.isEmpty { return "csmRoster must name at least one CSM" }
        if !(0...1).contains(newCustomerShare) { return "newCustomerShare must be between 0 and 1" }
        if !(usageScale >= 0) { return "usageScale must not be negative" }
        return nil
    }
}
