public import Foundation

/// What Cairn knows about one account: the facts merged so far and what follows from them.
///
/// Every fact is merged so the result does not depend on arrival order or duplicates: milestones keep their
/// earliest time, attributes keep the value with the latest event time.
public struct AccountState: Sendable, Hashable {
    public var accountId: String
    public var name: String?
    public var nameAt: Date?
    public var csmId: String?
    public var csmAssignedAt: Date?
    /// Milestone event name → when it was first reached.
    public var milestones: [String: Date] = [:]
    public var stage: JourneyStage = .awareness
    public var stageEnteredAt: Date?
    public var health: HealthScore?
    public var firstEventAt: Date?
    public var lastEventAt: Date?
    public var eventCount: Int = 0

    public init(accountId: String) {
        self.accountId = accountId
    }
}

/// One day of product usage for an account.
public struct ActivityDay: Sendable, Hashable {
    public var day: Date
    public var events: Int

    public init(day: Date, events: Int) {
        self.day = day
        self.events = events
    }
}

extension AccountEvent {
    /// Product usage, as opposed to a canonical business event: anything tracked that is not in the vocabulary.
    public var isProductUsage: Bool {
        guard type == .track, let event else { return false }
        return !CanonicalEvent.all.contains(event)
    }
}
