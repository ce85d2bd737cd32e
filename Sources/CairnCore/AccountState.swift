public import Foundation

/// What Cairn knows about one account: the merged facts and what the engine concluded from them at the last
/// evaluation (segment, stage and its history, milestones, health).
public struct AccountState: Sendable, Hashable {
    public var accountId: String
    public var facts = AccountFacts()
    public var segment: String?
    public var stage: JourneyStage = .awareness
    public var stageEnteredAt: Date?
    /// Every stage the account went through, oldest first; the last one is the current stage.
    public var stageHistory: [StageVisit] = []
    /// Work running beside the main stage (a newly added team onboarding while the account renews).
    public var tracks: [ParallelTrack] = []
    public var milestones: [MilestoneStatus] = []
    /// Days from contract signing to first product use.
    public var timeToValueDays: Double?
    public var health: HealthScore?
    /// Health red (and not churned): the account is at risk, beside its stage.
    public var atRisk = false
    public var firstEventAt: Date?
    public var lastEventAt: Date?
    public var eventCount: Int = 0

    public init(accountId: String) {
        self.accountId = accountId
    }

    public var name: String? { facts.name?.value }
    public var csmId: String? { facts.csmId?.value }
}

/// A stage the account was in, when, and why it got there.
public struct StageVisit: Sendable, Hashable, Codable {
    public var stage: JourneyStage
    public var enteredAt: Date
    public var leftAt: Date?
    public var reason: String

    public init(stage: JourneyStage, enteredAt: Date, leftAt: Date? = nil, reason: String) {
        self.stage = stage
        self.enteredAt = enteredAt
        self.leftAt = leftAt
        self.reason = reason
    }
}

public struct ParallelTrack: Sendable, Hashable, Codable {
    public var name: String
    public var stage: JourneyStage
    public var startedAt: Date
    public var reason: String
}

/// A milestone's progress against its SLA.
public struct MilestoneStatus: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case pending, reached, reachedLate = "reached_late", missed
    }

    public var name: String
    public var dueAt: Date
    public var reachedAt: Date?
    public var status: Status
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

/// A person at the account, as the users table knows them.
public struct Person: Sendable, Hashable {
    public var userId: String
    public var role: String?
    public var roleAt: Date?
    public var leftAt: Date?
    /// Days (since 1970) the person used the product, the most recent ones.
    public var activeDays: Set<Int>

    public init(userId: String, role: String?, roleAt: Date? = nil, leftAt: Date? = nil, activeDays: Set<Int> = []) {
        self.userId = userId
        self.role = role
        self.roleAt = roleAt
        self.leftAt = leftAt
        self.activeDays = activeDays
    }

    /// Folds in what `event` says about this person, whatever the order events arrive in: a persona from an
    /// `identify` call's `traits.role` or a `contact.role_changed` (the latest wins), leaving (the latest
    /// `contact.left`), and a day of product usage.
    public mutating func merge(_ event: AccountEvent, configuration: EngineConfiguration) {
        let name = configuration.canonicalName(event)
        if let role = Self.role(in: event, configuration: configuration), event.timestamp >= (roleAt ?? .distantPast) {
            self.role = role
            roleAt = event.timestamp
        }
        if name == CanonicalEvent.contactLeft { leftAt = max(leftAt ?? event.timestamp, event.timestamp) }
        if configuration.isProductUsage(event) { activeDays.insert(Timestamp.epochDay(event.timestamp)) }
    }

    /// The persona `event` gives its user: an `identify` call's `traits.role`, or a `contact.role_changed`'s role.
    public static func role(in event: AccountEvent, configuration: EngineConfiguration) -> String? {
        if event.type == .identify { return event.traits["role"]?.stringValue }
        guard configuration.canonicalName(event) == CanonicalEvent.contactRoleChanged else { return nil }
        return event.properties["role"]?.stringValue
    }

    /// The roles the health model and the journey follow person by person; the store keeps these people (and
    /// anyone who left) in every account's context.
    public static let keyRoles: Set<String> = ["admin", "champion", "sponsor"]

    /// Holds a key role or left: one of the account's people in the engine's context.
    public var isKey: Bool { leftAt != nil || role.map(Self.keyRoles.contains) ?? false }

    /// Still at the customer: never left, or took a role again after leaving.
    public var isPresent: Bool {
        guard let leftAt else { return true }
        return (roleAt ?? .distantPast) > leftAt
    }
}
