import CairnCore
public import Foundation

/// What happens to an account, hidden from Cairn: the simulator drives the account's behaviour towards it.
public enum Fate: String, Sendable, Hashable, Codable, CaseIterable {
    /// Renews at its renewal date (`fateDate`), which may lie after the simulated period.
    case renews
    /// Signs an expansion at `fateDate`, within the period (and renews when its renewal falls in the period).
    case expands
    /// Churns at `fateDate`, within the period: at its renewal date when that falls in the period, otherwise
    /// earlier (a termination or a notice of non-renewal).
    case churns
}

/// One simulated account as it really is: what health and alerts are evaluated against.
public struct AccountTruth: Sendable, Hashable, Codable {
    public var accountId: String
    public var name: String
    public var segment: CustomerSegment
    /// Annual recurring revenue in dollars, and seats bought, at the start of the period.
    public var arr: Int
    public var seats: Int
    /// When the customer first signed (before the period for most accounts).
    public var contractStart: Date
    /// The first renewal date on or after the start of the period (for a new customer: its first renewal).
    public var renewalDate: Date
    public var fate: Fate
    /// Midnight UTC of the day the fate happens.
    public var fateDate: Date
    /// The assigned CSM; none for tech-touch (SMB) accounts.
    public var csmId: String?

    public init(
        accountId: String, name: String, segment: CustomerSegment, arr: Int, seats: Int, contractStart: Date, renewalDate: Date,
        fate: Fate, fateDate: Date, csmId: String?
    ) {
        self.accountId = accountId
        self.name = name
        self.segment = segment
        self.arr = arr
        self.seats = seats
        self.contractStart = contractStart
        self.renewalDate = renewalDate
        self.fate = fate
        self.fateDate = fateDate
        self.csmId = csmId
    }

    private enum CodingKeys: String, CodingKey {
        case accountId, name, segment, arr, seats, contractStart, renewalDate, fate, fateDate, csmId
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accountId, forKey: .accountId)
        try container.encode(name, forKey: .name)
        try container.encode(segment, forKey: .segment)
        try container.encode(arr, forKey: .arr)
        try container.encode(seats, forKey: .seats)
        try container.encode(contractStart, forKey: .contractStart)
        try container.encode(renewalDate, forKey: .renewalDate)
        try container.encode(fate, forKey: .fate)
        try container.encode(fateDate, forKey: .fateDate)
        try container.encode(csmId, forKey: .csmId)  // null rather than absent: every record has the same keys
    }
}

/// The hidden truth of one simulation run: the file `cairn simulate --truth` writes.
public struct GroundTruth: Sendable, Hashable, Codable {
    public var seed: UInt64
    /// First simulated day (midnight UTC) and the number of days.
    public var start: Date
    public var days: Int
    /// In account order.
    public var accounts: [AccountTruth]

    public init(seed: UInt64, start: Date, days: Int, accounts: [AccountTruth]) {
        self.seed = seed
        self.start = start
        self.days = days
        self.accounts = accounts
    }

    /// Pretty-printed JSON with sorted keys and ISO-8601 dates: equal truths give equal bytes.
    public func encoded() -> Data {
        let encoder = JSONEncoder.cairn
        encoder.outputFormatting.insert(.prettyPrinted)
        // Only strings, integers, dates and arrays of them: encoding cannot fail.
        return try! encoder.encode(self)
    }

    /// Reads a ground-truth file as `encoded()` writes it.
    public static func parse(_ data: Data) throws(SimulatorError) -> GroundTruth {
        do {
            return try JSONDecoder.cairn.decode(GroundTruth.self, from: data)
        } catch {
            throw SimulatorError(.invalidGroundTruth, "not a ground-truth file (\(error))", underlying: error)
        }
    }
}

/// An error of the simulator module, with a stable code and a message for people.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable { case invalidGroundTruth, invalidConfiguration, output }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A ground-truth file that cannot be read.
        public static let invalidGroundTruth = Code(.invalidGroundTruth)
        /// A simulation configuration that cannot be run.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Writing the output failed.
        public static let output = Code(.output)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
