public import Foundation

/// One (account, play) pair: the unit of "one open task per play" and of cool-downs.
public struct PlayKey: Hashable, Sendable {
    public var account: String
    public var playbook: String

    public init(account: String, playbook: String) {
        self.account = account
        self.playbook = playbook
    }
}

/// The escalator's writes for one batch of signals, decided in signal order exactly as one signal at a time would
/// decide them, then written in a few set-based statements instead of several statements per signal.
///
/// What the batch needs from the database is read once up front (latest closing per play with a cool-down, which
/// plays are open, each pool's load); the decisions then keep those facts current as they go, so a later signal of
/// the batch sees what an earlier one did (an outreach just sent starts its play's cool-down; a task just created
/// is the open play; a pool member just given a task has one more).
public struct TaskBatch: Sendable {
    /// The task each play creates, or refreshes when the play is already open (first signal of the batch wins the
    /// task's content, as it would have created it); `trigger` is the last signal's, as the refreshes would leave it.
    public struct Candidate: Sendable {
        public var task: TaskMessage
        public var trigger: TaskMessage.Trigger
        /// The triggers of every signal of the batch for this play, in order, for the task's history.
        public var history: [TaskMessage.Trigger]
    }

    public private(set) var candidates: [PlayKey: Candidate] = [:]
    /// The plays with a candidate, in the order their first signal came.
    public private(set) var order: [PlayKey] = []
    /// Automated messages to record and send, in order.
    public private(set) var outreach: [OutreachMessage] = []
    /// Tasks and messages not started because their play closed within its cool-down.
    public private(set) var cooledDown = 0

    /// Decides every plan against what the database said, keeping `lastClosed`, `open` and `loads` current as it goes.
    public init(
        plans: [(signal: Signal, plan: EscalationPlan)], cooldownDays: [String: Int], lastClosed: [PlayKey: Date],
        open: Set<PlayKey>, pools: [String: Roster.Pool], loads: [String: PoolLoad]
    ) {
        var lastClosed = lastClosed
        var open = open
        var loads = loads
        func cooling(_ key: PlayKey, at: Date) -> Bool {
            let days = cooldownDays[key.playbook] ?? 0
            guard days > 0, let closed = lastClosed[key] else { return false }
            return closed > at.addingTimeInterval(-Double(days) * 86_400)
        }
        for (signal, plan) in plans {
            for var task in plan.tasks {
                let key = PlayKey(account: task.accountId, playbook: task.playbook)
                if cooling(key, at: signal.at) {
                    cooledDown += 1
                    continue
                }
                if var candidate = candidates[key] {
                    candidate.trigger = task.trigger
                    candidate.history.append(task.trigger)
                    candidates[key] = candidate
                    continue
                }
                // A new task (unless the play is open already) goes to a pool member now, as it would one by one.
                if !open.contains(key), task.assignee.kind == "pool", let pool = pools[task.assignee.id], !pool.members.isEmpty {
                    task.assignee.member = loads[task.assignee.id, default: PoolLoad()].assign(in: pool)
                }
                open.insert(key)
                candidates[key] = Candidate(task: task, trigger: task.trigger, history: [task.trigger])
                order.append(key)
            }
            for message in plan.outreach {
                let key = PlayKey(account: message.accountId, playbook: message.playbook)
                if cooling(key, at: signal.at) {
                    cooledDown += 1
                    continue
                }
                outreach.append(message)
                // Recorded as closed when sent: the play's cool-down starts now for the rest of the batch.
                lastClosed[key] = max(lastClosed[key] ?? message.createdAt, message.createdAt)
            }
        }
    }

    /// Every play the batch touches, and those whose cool-down must be read.
    public static func keys(of plans: [(signal: Signal, plan: EscalationPlan)]) -> Set<PlayKey> {
        var keys = Set<PlayKey>()
        for (_, plan) in plans {
            for task in plan.tasks { keys.insert(PlayKey(account: task.accountId, playbook: task.playbook)) }
            for message in plan.outreach { keys.insert(PlayKey(account: message.accountId, playbook: message.playbook)) }
        }
        return keys
    }
}

/// A pool's open tasks per member and its task count, as the two assignment rules read them.
public struct PoolLoad: Sendable {
    public var openByMember: [String: Int] = [:]
    public var total = 0

    public init(openByMember: [String: Int] = [:], total: Int = 0) {
        self.openByMember = openByMember
        self.total = total
    }

    /// The member who gets the next task, counted as having it.
    public mutating func assign(in pool: Roster.Pool) -> String {
        let member: String
        switch pool.assignment {
        case .leastLoaded:
            member = pool.members.enumerated().min { lhs, rhs in
                (openByMember[lhs.element] ?? 0, lhs.offset) < (openByMember[rhs.element] ?? 0, rhs.offset)
            }!.element
        case .roundRobin:
            member = pool.members[total % pool.members.count]
        }
        openByMember[member, default: 0] += 1
        total += 1
        return member
    }
}

