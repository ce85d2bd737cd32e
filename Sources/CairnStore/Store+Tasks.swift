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
}

extension Store {
    /// Name under which the escalator records the signals it has handled.
    public static let escalatorConsumer = "escalator"

    /// Handles a batch of signals in one transaction: skips the ones already handled, asks `decide` for the tasks
    /// each calls for, creates each task unless the same play is already open for the account (then it refreshes
    /// that task's trigger), and queues every new task in the outbox for `cairn.tasks`.
    public func handle(
        _ signals: [Signal], logger: Logger, decide: @Sendable (Signal, AccountContext) -> [TaskMessage]
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
            for signal in fresh {
                let context = contexts[signal.accountId] ?? AccountContext(accountId: signal.accountId)
                for task in decide(signal, context) {
                    if try await upsert(task, on: connection, logger: logger) { outcome.created += 1 } else { outcome.updated += 1 }
                }
            }
            return outcome
        }
    }

    /// Inserts the task, or refreshes the trigger of the open task of the same play. Returns true when inserted.
    private func upsert(_ task: TaskMessage, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let payload = String(decoding: task.encoded(), as: UTF8.self)
        let trigger = String(decoding: try JSONEncoder.cairn.encode(task.trigger), as: UTF8.self)
        let rows = try await connection.query(
            """
            INSERT INTO tasks (task_id, account_id, playbook, title, priority, assignee_kind, assignee_id, trigger,
                               payload, created_at, due_at)
            VALUES (\(task.taskId), \(task.accountId), \(task.playbook), \(task.title), \(task.priority),
                    \(task.assignee.kind), \(task.assignee.id), \(trigger)::jsonb, \(payload)::jsonb, \(task.createdAt),
                    \(task.dueAt))
            ON CONFLICT (account_id, playbook) WHERE status IN ('open', 'acknowledged')
            DO UPDATE SET trigger = EXCLUDED.trigger, updated_at = now()
            RETURNING (xmax = 0)
            """, logger: logger)
        var inserted = false
        for try await value in rows.decode(Bool.self) { inserted = value }
        if inserted {
            try await enqueue(
                exchange: "cairn.tasks", routingKeys: [task.assignee.destination], messageIDs: [task.taskId],
                payloads: [payload], on: connection, logger: logger)
        }
        return inserted
    }

    private func accountContexts(_ ids: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String: AccountContext] {
        let rows = try await connection.query(
            """
            SELECT a.account_id, a.name, a.csm_id, a.segment, j.stage, h.score, h.band, h.explanation, h.evaluated_at
            FROM accounts a
            LEFT JOIN journey j ON j.account_id = a.account_id
            LEFT JOIN health h ON h.account_id = a.account_id
            WHERE a.account_id = ANY(\(ids))
            """, logger: logger)
        var contexts: [String: AccountContext] = [:]
        for try await row in rows.decode((String, String?, String?, String?, String?, Int?, String?, String?, Date?).self) {
            var context = AccountContext(
                accountId: row.0, name: row.1, csmId: row.2, segment: row.3,
                stage: row.4.flatMap(JourneyStage.init(rawValue:)) ?? .awareness)
            if let score = row.5, let band = row.6.flatMap(HealthBand.init(rawValue:)) {
                context.health = HealthScore(
                    score: score, band: band, components: [], explanation: row.7 ?? "", evaluatedAt: row.8 ?? .distantPast)
            }
            contexts[row.0] = context
        }
        return contexts
    }
}
