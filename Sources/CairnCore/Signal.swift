public import Foundation

/// A state change, published on `cairn.signals` with the kind as routing key.
public struct Signal: Sendable, Hashable, Codable {
    /// Stable for the same change, so a relayed duplicate can be recognised.
    public var signalId: String
    public var kind: String
    public var accountId: String
    public var at: Date
    public var data: [String: JSONValue]
    /// When Cairn could first know of it: the arrival (`receivedAt`) of the account's first event at or after `at`,
    /// else the evaluation time that found it. It may be long after `at`: a late event, a backfill of history.
    public var raisedAt: Date?
    /// The account's stage at `at` (for `stage.entered`, the stage entered), as the engine knew it when raising it.
    public var stage: JourneyStage?
    /// The account's band once the engine had evaluated the facts that raised it.
    public var band: HealthBand?

    public init(
        signalId: String, kind: String, accountId: String, at: Date, data: [String: JSONValue], raisedAt: Date? = nil,
        stage: JourneyStage? = nil, band: HealthBand? = nil
    ) {
        self.signalId = signalId
        self.kind = kind
        self.accountId = accountId
        self.at = at
        self.data = data
        self.raisedAt = raisedAt
        self.stage = stage
        self.band = band
    }

    public static func parse(_ bytes: some Collection<UInt8>) throws -> Signal {
        try JSONDecoder.cairn.decode(Signal.self, from: Data(bytes))
    }

    public func encoded() -> [UInt8] {
        Array(try! JSONEncoder.cairn.encode(self))
    }
}

/// Signal kinds the engine emits (routing keys on `cairn.signals`).
public enum SignalKind {
    public static let stageEntered = "stage.entered"
    public static let healthBandChanged = "health.band_changed"
    public static let contactRoleChanged = "contact.role_changed"
    public static let milestoneReached = "milestone.reached"
    public static let milestoneMissed = "milestone.missed"
    public static let healthDropped = "health.dropped"
    public static let championLeft = "champion.left"
    public static let npsDetractor = "nps.detractor"
    public static let npsPromoter = "nps.promoter"
    public static let licenseUtilizationHigh = "license.utilization_high"
    public static let licenseUnderused = "license.underused"
    public static let invoiceOverdue = "invoice.overdue"
    public static let renewalWindowOpened = "renewal.window_opened"
    public static let maturityAnniversary = "maturity.anniversary"
    public static let ticketEscalated = "ticket.escalated"

    public static let all = [
        stageEntered, milestoneReached, milestoneMissed, healthBandChanged, healthDropped, contactRoleChanged,
        championLeft, npsDetractor, npsPromoter, licenseUtilizationHigh, licenseUnderused, invoiceOverdue, renewalWindowOpened,
        maturityAnniversary, ticketEscalated,
    ]
}
