import CairnCore
import Foundation
import Logging
import PostgresNIO

extension Store {
    /// Writes a decided batch: the tasks (inserted, or the open task's trigger refreshed, by the one-open-play index,
    /// so a concurrent escalator cannot make a second), their history, their outbox rows, and the outreach records
    /// with theirs. Returns (tasks created, tasks refreshed, outreach queued).
    func write(_ batch: TaskBatch, on connection: PostgresConnection, logger: Logger) async throws -> (Int, Int, Int) {
        var created = 0
        var refreshed = 0
        if !batch.order.isEmpty {
            let candidates = batch.order.map { batch.candidates[$0]! }
            let payloads = candidates.map { String(decoding: $0.task.encoded(), as: UTF8.self) }
            let triggers = try candidates.map { String(decoding: try JSONEncoder.cairn.encode($0.trigger), as: UTF8.self) }
            let rows = try await connection.checkedQuery(
                """
                INSERT INTO tasks (task_id, account_id, playbook, title, priority, assignee_kind, assignee_id, assignee_member,
                                   trigger, payload, created_at, due_at)
                SELECT id, a, p, t, pr, ak, ai, NULLIF(am, ''), tr::jsonb, pl::jsonb, ca, da
                FROM unnest(\(candidates.map(\.task.taskId)), \(candidates.map(\.task.accountId)), \(candidates.map(\.task.playbook)),
                            \(candidates.map(\.task.title)), \(candidates.map(\.task.priority)), \(candidates.map(\.task.assignee.kind)),
                            \(candidates.map(\.task.assignee.id)), \(candidates.map { $0.task.assignee.member ?? "" }), \(triggers),
                            \(payloads), \(candidates.map(\.task.createdAt)), \(candidates.map(\.task.dueAt)))
                    AS x(id, a, p, t, pr, ak, ai, am, tr, pl, ca, da)
                ORDER BY a, p
                ON CONFLICT (account_id, playbook) WHERE status IN ('open', 'acknowledged', 'snoozed') AND kind = 'task'
                DO UPDATE SET trigger = EXCLUDED.trigger, updated_at = now()
                RETURNING account_id, playbook, task_id, (xmax = 0)
                """, logger: logger)
            var outcome: [PlayKey: (id: String, inserted: Bool)] = [:]
            for try await (account, playbook, id, inserted) in rows.decode((String, String, String, Bool).self) {
                outcome[PlayKey(account: account, playbook: playbook)] = (id, inserted)
            }
            var historyIDs: [String] = []
            var actions: [String] = []
            var details: [String] = []
            var queued: [(destination: String, id: String, payload: String)] = []
            for (index, key) in batch.order.enumerated() {
                guard let (id, inserted) = outcome[key] else { continue }
                let candidate = candidates[index]
                for (number, trigger) in candidate.history.enumerated() {
                    historyIDs.append(id)
                    actions.append(number == 0 && inserted ? "created" : "retriggered")
                    details.append(String(decoding: try JSONEncoder.cairn.encode(trigger), as: UTF8.self))
                }
                if inserted {
                    created += 1
                    refreshed += candidate.history.count - 1
                    queued.append((candidate.task.assignee.destination, candidate.task.taskId, payloads[index]))
                } else {
                    refreshed += candidate.history.count
                }
            }
            try await connection.checkedQuery(
                """
                INSERT INTO task_events (task_id, action, detail)
                SELECT id, a, d::jsonb FROM unnest(\(historyIDs), \(actions), \(details)) WITH ORDINALITY AS x(id, a, d, n) ORDER BY n
                """, logger: logger)
            if !queued.isEmpty {
                try await enqueue(
                    exchange: "cairn.tasks", routingKeys: queued.map(\.destination), messageIDs: queued.map(\.id),
                    payloads: queued.map(\.payload), on: connection, logger: logger)
            }
        }
        var sent = 0
        if !batch.outreach.isEmpty {
            let messages = batch.outreach
            let payloads = messages.map { String(decoding: $0.encoded(), as: UTF8.self) }
            let triggers = try messages.map { String(decoding: try JSONEncoder.cairn.encode($0.trigger), as: UTF8.self) }
            let rows = try await connection.checkedQuery(
                """
                INSERT INTO tasks (task_id, kind, account_id, playbook, title, priority, status, assignee_kind, assignee_id,
                                   trigger, payload, created_at, due_at, closed_at)
                SELECT id, 'outreach', a, p, ck, 'P4', 'sent', 'outreach', ch, tr::jsonb, pl::jsonb, ca, ca, ca
                FROM unnest(\(messages.map(\.outreachId)), \(messages.map(\.accountId)), \(messages.map(\.playbook)),
                            \(messages.map(\.contentKey)), \(messages.map(\.channel)), \(triggers), \(payloads),
                            \(messages.map(\.createdAt))) AS x(id, a, p, ck, ch, tr, pl, ca)
                ON CONFLICT (task_id) DO NOTHING
                RETURNING task_id
                """, logger: logger)
            var inserted = Set<String>()
            for try await id in rows.decode(String.self) { inserted.insert(id) }
            let queued = messages.indices.filter { inserted.contains(messages[$0].outreachId) }
            if !queued.isEmpty {
                try await enqueue(
                    exchange: "cairn.tasks", routingKeys: queued.map { _ in "outreach" }, messageIDs: queued.map { messages[$0].outreachId },
                    payloads: queued.map { payloads[$0] }, on: connection, logger: logger)
            }
            sent = queued.count
        }
        return (created, refreshed, sent)
    }

    /// The latest closing of each play (tasks closed and outreach sent), for cool-downs.
    func latestClosings(_ keys: [PlayKey], on connection: PostgresConnection, logger: Logger) async throws -> [PlayKey: Date] {
        guard !keys.isEmpty else { return [:] }
        let rows = try await connection.checkedQuery(
            """
            SELECT t.account_id, t.playbook, max(t.closed_at) FROM tasks t
            JOIN unnest(\(keys.map(\.account)), \(keys.map(\.playbook))) AS k(a, p) ON t.account_id = k.a AND t.playbook = k.p
            WHERE t.closed_at IS NOT NULL
            GROUP BY 1, 2
            """, logger: logger)
        var closings: [PlayKey: Date] = [:]
        for try await (account, playbook, closed) in rows.decode((String, String, Date).self) {
            closings[PlayKey(account: account, playbook: playbook)] = closed
        }
        return closings
    }

    /// The plays among `keys` with an open (or acknowledged, or snoozed) task.
    func openPlays(_ keys: [PlayKey], on connection: PostgresConnection, logger: Logger) async throws -> Set<PlayKey> {
        guard !keys.isEmpty else { return [] }
        let rows = try await connection.checkedQuery(
            """
            SELECT t.account_id, t.playbook FROM tasks t
            JOIN unnest(\(keys.map(\.account)), \(keys.map(\.playbook))) AS k(a, p) ON t.account_id = k.a AND t.playbook = k.p
            WHERE t.status IN ('open', 'acknowledged', 'snoozed') AND t.kind = 'task'
            """, logger: logger)
        var open = Set<PlayKey>()
        for try await (account, playbook) in rows.decode((String, String).self) {
            open.insert(PlayKey(account: account, playbook: playbook))
        }
        return open
    }

    /// Each pool's open tasks per member and its task count.
    func poolLoads(_ pools: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String: PoolLoad] {
        guard !pools.isEmpty else { return [:] }
        var loads: [String: PoolLoad] = [:]
        let rows = try await connection.checkedQuery(
            """
            SELECT assignee_id, coalesce(assignee_member, ''), count(*)::int8,
                   count(*) FILTER (WHERE status IN ('open', 'acknowledged', 'snoozed'))::int8
            FROM tasks WHERE assignee_kind = 'pool' AND assignee_id = ANY(\(pools)) AND kind = 'task'
            GROUP BY 1, 2
            """, logger: logger)
        for try await (pool, member, total, open) in rows.decode((String, String, Int, Int).self) {
            loads[pool, default: PoolLoad()].total += total
            if !member.isEmpty { loads[pool, default: PoolLoad()].openByMember[member, default: 0] += open }
        }
        return loads
    }
}
