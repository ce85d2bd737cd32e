public import Foundation

/// What the escalator knows about an account when it decides on a task.
public struct AccountContext: Sendable, Hashable {
    public var accountId: String
    public var name: String?
    public var csmId: String?
    public var segment: String?
    public var stage: JourneyStage
    public var health: HealthScore?

    public init(accountId: String, name: String? = nil, csmId: String? = nil, segment: String? = nil,
                stage: JourneyStage = .awareness, health: HealthScore? = nil) {
        self.accountId = accountId
        self.name = name
        self.csmId = csmId
        self.segment = segment
        self.stage = stage
        self.health = health
    }
}

/// A play: when a signal matches, the account's CSM (or a pool) gets a task with these steps.
public struct Playbook: Sendable {
    public var id: String
    public var title: String
    public var steps: [String]
    public var priority: String
    public var dueInDays: Int
    public var matches: @Sendable (Signal) -> Bool

    public init(id: String, title: String, steps: [String], priority: String, dueInDays: Int,
                matches: @escaping @Sendable (Signal) -> Bool) {
        self.id = id
        self.title = title
        self.steps = steps
        self.priority = priority
        self.dueInDays = dueInDays
        self.matches = matches
    }

    /// A contact became the account's champion: meet them before the relationship drifts.
    public static let newKeyContact = Playbook(
        id: "new-key-contact", title: "Connect with the new champion",
        steps: ["Introduce yourself", "Schedule training", "Confirm goals and buy-in"],
        priority: "P2", dueInDays: 5,
        matches: { signal in
            signal.kind == SignalKind.contactRoleChanged && signal.data["role"]?.stringValue == "champion"
        })

    public static let defaults: [Playbook] = [newKeyContact]

    /// Pool for accounts without an assigned CSM.
    public static let unassignedPool = "unassigned"
}

public enum Escalation {
    /// The tasks `signal` calls for. Whether one is new or updates an open task is the store's decision.
    public static func tasks(
        for signal: Signal, account: AccountContext, playbooks: [Playbook] = Playbook.defaults, now: Date,
        makeID: () -> String = { UUID().uuidString.lowercased() }
    ) -> [TaskMessage] {
        playbooks.filter { $0.matches(signal) }.map { playbook in
            let assignee = account.csmId.map { TaskMessage.Assignee(kind: "csm", id: $0) }
                ?? TaskMessage.Assignee(kind: "pool", id: Playbook.unassignedPool)
            return TaskMessage(
                taskId: makeID(), accountId: account.accountId, accountName: account.name ?? account.accountId,
                playbook: playbook.id, title: playbook.title,
                trigger: .init(kind: signal.kind, at: signal.at, detail: signal.data),
                priority: playbook.priority, createdAt: now,
                dueAt: signal.at.addingTimeInterval(Double(playbook.dueInDays) * 86_400),
                assignee: assignee, steps: playbook.steps,
                health: .init(score: account.health?.score, band: account.health?.band.rawValue, previousBand: nil),
                stage: account.stage.rawValue, segment: account.segment ?? "default",
                links: ["account": "/accounts/\(account.accountId)"])
        }
    }
}
