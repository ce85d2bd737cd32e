public import CairnCore
import Foundation
public import Logging
import PostgresNIO

/// What one batch of signals did in the escalator.
public struct SignalOutcome: Sendable, Hashable {
    public var handled: Int
    public var duplicates: Int
    /// Tasks created (each also queued in the outbox for its destination).
    public var created: Int
    /// Signals that matched a play already open for the account: that task's trigger was updated instead.
    public var updated: Int
    /// Plays not started because the same play closed for the account within its cool-down.
    public var cooledDown = 0
    /// Automated messages queued for `cairn.outreach`.
    public var outreach = 0
}

extension Store {
    /// Name under which the escalator records the signals it has handled.
    public static let escalatorConsumer = "escalator"

    /// Handles a batch of signals in one transaction: skips the ones already handled, asks `decide` for the plan
    /// each calls for, and for each task: skips it within its play's cool-down, refreshes the open task of the
    /// same play instead of making another, or creates it (a pool task goes to the member with the fewest open
    /// tasks, or the next in turn) and queues it in the outbox for `cairn.tasks`; outreach is recorded and queued
    /// for `cairn.outreach`. A crash anywhere rolls all of it back, and the redelivered signals do it again once.
    public func handle(
        _ signals: [Signal], logger: Logger, decide: @Sendable (Signal, AccountContext) -> EscalationPlan
    ) async throws -> SignalOutcome {
        var unique: [String: Signal] = [:]
        for signal in signals where unique[signal.signalId] == nil { unique[signal.signalId] = signal }
        let ordered = unique.values.sorted { $0.signalId < $1.signalId }
        guard !ordered.isEmpty else { return SignalOutcome(handled: 0, duplicates: signals.count, created: 0, updated: 0) }

        return try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                INSERT INTO processed_messages (consumer, message_id)
                SELECT \(Self.escalatorConsumer), unnest(\(ordered.map(\.signalId))) ORDER BY 2
                ON CONFLICT DO NOTHING RETURNING message_id
                """, logger: logger)
            var freshIDs = Set<String>()
            for try await id in rows.decode(String.self) { freshIDs.insert(id) }
            let fresh = ordered.filter { freshIDs.contains($0.signalId) }
            var outcome = SignalOutcome(handled: fresh.count, duplicates: signals.count - fresh.count, created: 0, updated: 0)
            guard !fresh.isEmpty else { return outcome }

            let contexts = try await accountContexts(Array(Set(fresh.map(\.accountId))).sorted(), on: connection, logger: logger)
            let cooldowns = Dictionary(engine.playbooks.map { ($0.id, $0.cooldownDays) }, uniquingKeysWith: max)
            for signal in fresh {
                let context = contexts[signal.accountId] ?? AccountContext(accountId: signal.accountId)
                let plan = decide(signal, context)
                for var task in plan.tasks {
                    if try await inCooldown(task.accountId, task.playbook, days: cooldowns[task.playbook] ?? 0, at: signal.at, on: connection, logger: logger) {
                        outcome.cooledDown += 1
                        continue
                    }
                    if task.assignee.kind == "pool", let pool = engine.roster.pools[task.assignee.id], !pool.members.isEmpty {
                        task.assignee.member = try await nextMember(of: task.assignee.id, pool, on: connection, logger: logger)
                    }
                    if try await upsert(task, on: connection, logger: logger) { outcome.created += 1 } else { outcome.updated += 1 }
                }
                for message in plan.outreach {
                    if try await inCooldown(message.accountId, message.playbook, days: cooldowns[message.playbook] ?? 0, at: signal.at, on: connection, logger: logger) {
                        outcome.cooledDown += 1
                        continue
                    }
                    if try await record(message, on: connection, logger: logger) { outcome.outreach += 1 }
                }
            }
            return outcome
        }
    }

    /// Whether the play was closed (or its outreach sent) for the account within `days` before `at`.
    private func inCooldown(
        _ account: String, _ playbook: String, days: Int, at: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        guard days > 0 else { return false }
        let rows = try await connection.query(
            """
            SELECT EXISTS (SELECT 1 FROM tasks WHERE account_id = \(account) AND playbook = \(playbook)
                           AND closed_at IS NOT NULL AND closed_at > \(at.addingTimeInterval(-Double(days) * 86_400)))
            """, logger: logger)
        for try await value in rows.decode(Bool.self) { return value }
        return false
    }

    /// The pool member who gets the next task: the one with the fewest open tasks, or the next in turn.
    private func nextMember(
        of poolName: String, _ pool: Roster.Pool, on connection: PostgresConnection, logger: Logger
    ) async throws -> String {
        switch pool.assignment {
        case .leastLoaded:
            var open: [String: Int] = [:]
            let rows = try await connection.query(
                """
                SELECT assignee_member, count(*)::int8 FROM tasks
                WHERE assignee_kind = 'pool' AND assignee_id = \(poolName) AND kind = 'task'
                      AND status IN ('open', 'acknowledged', 'snoozed') AND assignee_member IS NOT NULL
                GROUP BY assignee_member
                """, logger: logger)
            for try await (member, count) in rows.decode((String, Int).self) { open[member] = count }
            return pool.members.min { (open[$0] ?? 0, pool.members.firstIndex(of: $0)!) < (open[$1] ?? 0, pool.members.firstIndex(of: $1)!) }!
        case .roundRobin:
            let rows = try await connection.query(
                "SELECT count(*)::int8 FROM tasks WHERE assignee_kind = 'pool' AND assignee_id = \(poolName) AND kind = 'task'",
                logger: logger)
            var total = 0
            for try await value in rows.decode(Int.self) { total = value }
            return pool.members[total % pool.members.count]
        }
    }

    /// Inserts the task, or refreshes the trigger of the open task of the same play. Returns true when inserted.
    private func upsert(_ task: TaskMessage, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let payload = String(decoding: task.encoded(), as: UTF8.self)
        let trigger = String(decoding: try JSONEncoder.cairn.encode(task.trigger), as: UTF8.self)
        let rows = try await connection.query(
            """
            INSERT INTO tasks (task_id, account_id, playbook, title, priority, assignee_kind, assignee_id, assignee_member,
                               trigger, payload, created_at, due_at)
            VALUES (\(task.taskId), \(task.accountId), \(task.playbook), \(task.title), \(task.priority),
                    \(task.assignee.kind), \(task.assignee.id), \(task.assignee.member), \(trigger)::jsonb, \(payload)::jsonb,
                    \(task.createdAt), \(task.dueAt))
            ON CONFLICT (account_id, playbook) WHERE status IN ('open', 'acknowledged', 'snoozed') AND kind = 'task'
            DO UPDATE SET trigger = EXCLUDED.trigger, updated_at = now()
            RETURNING task_id, (xmax = 0)
            """, logger: logger)
        var inserted = false
        var taskID = task.taskId
        for try await (id, value) in rows.decode((String, Bool).self) { (taskID, inserted) = (id, value) }
        try await connection.query(
            """
            INSERT INTO task_events (task_id, action, detail)
            VALUES (\(taskID), \(inserted ? "created" : "retriggered"), \(trigger)::jsonb)
            """, logger: logger)
        if inserted {
            try await enqueue(
                exchange: "cairn.tasks", routingKeys: [task.assignee.destination], messageIDs: [task.taskId],
                payloads: [payload], on: connection, logger: logger)
        }
        return inserted
    }

    /// Records an automated message as a closed task (so cool-downs see it) and queues it once.
    private func record(_ message: OutreachMessage, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let payload = String(decoding: message.encoded(), as: UTF8.self)
        let trigger = String(decoding: try JSONEncoder.cairn.encode(message.trigger), as: UTF8.self)
        let rows = try await connection.query(
            """
            INSERT INTO tasks (task_id, kind, account_id, playbook, title, priority, status, assignee_kind, assignee_id,
                               trigger, payload, created_at, due_at, closed_at)
            VALUES (\(message.outreachId), 'outreach', \(message.accountId), \(message.playbook), \(message.contentKey), 'P4', 'sent',
                    'outreach', \(message.channel), \(trigger)::jsonb, \(payload)::jsonb, \(message.createdAt), \(message.createdAt),
                    \(message.createdAt))
            ON CONFLICT (task_id) DO NOTHING
            RETURNING task_id
            """, logger: logger)
        var inserted = false
        for try await _ in rows.decode(String.self) { inserted = true }
        if inserted {
            try await enqueue(
                exchange: "cairn.tasks", routingKeys: ["outreach"], messageIDs: [message.outreachId], payloads: [payload],
                on: connection, logger: logger)
        }
        return inserted
    }

    private func accountContexts(_ ids: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String: AccountContext] {
        let rows = try await connection.query(
            """
            SELECT a.account_id, a.name, a.csm_id, a.segment, j.stage, h.score, h.band, h.explanation, h.evaluated_at,
                   a.last_event_at
            FROM accounts a
            LEFT JOIN journey j ON j.account_id = a.account_id
            LEFT JOIN health h ON h.account_id = a.account_id
            WHERE a.account_id = ANY(\(ids))
            """, logger: logger)
        var contexts: [String: AccountContext] = [:]
        for try await row in rows.decode((String, String?, String?, String?, String?, Int?, String?, String?, Date?, Date?).self) {
            var context = AccountContext(
                accountId: row.0, name: row.1, csmId: row.2, segment: row.3,
                stage: row.4.flatMap(JourneyStage.init(rawValue:)) ?? .awareness, lastEventAt: row.9)
            if let score = row.5, let band = row.6.flatMap(HealthBand.init(rawValue:)) {
                context.health = HealthScore(
                    score: score, band: band, components: [], explanation: row.7 ?? "", evaluatedAt: row.8 ?? .distantPast)
            }
            contexts[row.0] = context
        }
        return contexts
    }
}
