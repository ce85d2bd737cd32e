public import CairnCore
public import Foundation
public import Logging
import PostgresNIO

/// A task change a person asks for.
public enum TaskAction: Sendable, Hashable {
    case acknowledge
    case done(note: String?)
    case snooze(until: Date)
    case dismiss(reason: String)
    case reassign(to: TaskMessage.Assignee)

    public var name: String {
        switch self {
        case .acknowledge: "acknowledged"
        case .done: "done"
        case .snooze: "snoozed"
        case .dismiss: "dismissed"
        case .reassign: "reassigned"
        }
    }
}

/// Why a task action was refused.
public struct TaskActionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable { case notFound = "not_found", conflict, invalid }
    public let code: Code
    public let message: String

    public var description: String { message }
}

/// A task as people see it, with its history.
public struct TaskRecord: Sendable, Hashable, Codable {
    public struct Event: Sendable, Hashable, Codable {
        public var at: Date
        public var action: String
        public var actor: String?
        public var detail: JSONValue
    }

    public var taskId: String
    public var accountId: String
    public var playbook: String
    public var title: String
    public var status: String
    public var priority: String
    public var assignee: String
    public var member: String?
    public var createdAt: Date
    public var dueAt: Date
    public var snoozedUntil: Date?
    public var closedAt: Date?
    public var history: [Event]
}

extension Store {
    /// Applies a person's action to a task: open → acknowledged → done; snoozed until a time (the sweep reopens
    /// it); dismissed with a reason; reassigned to another CSM, pool or manager (the task message is published to
    /// the new queue). Each change is written to the task's history. Closing a task as done feeds a
    /// `touchpoint.logged` event back into the account's journey, through the outbox, once.
    @discardableResult
    public func perform(_ action: TaskAction, on taskID: String, actor: String?, now: Date = Date(), logger: Logger) async throws -> TaskRecord {
        // A refused action comes out as the TaskActionError it is (checkedTransaction rethrows the body's error).
        try await performInTransaction(action, on: taskID, actor: actor, now: now, logger: logger)
    }

    private func performInTransaction(
        _ action: TaskAction, on taskID: String, actor: String?, now: Date, logger: Logger
    ) async throws -> TaskRecord {
        try await client.checkedTransaction(logger: logger) { connection in
            let rows = try await connection.checkedQuery(
                "SELECT status, account_id, playbook, payload::text FROM tasks WHERE task_id = \(taskID) AND kind = 'task' FOR UPDATE",
                logger: logger)
            var found: (status: String, account: String, playbook: String, payload: String)?
            for try await row in rows.decode((String, String, String, String).self) { found = row }
            guard let found else { throw TaskActionError(code: .notFound, message: "no task \(taskID.prefix(100))") }
            let open = ["open", "acknowledged", "snoozed"].contains(found.status)
            guard open else {
                throw TaskActionError(code: .conflict, message: "task \(taskID.prefix(100)) is \(found.status); only open tasks change")
            }
            var detail: [String: JSONValue] = [:]
            switch action {
            case .acknowledge:
                guard found.status != "acknowledged" else {
                    throw TaskActionError(code: .conflict, message: "task \(taskID.prefix(100)) is already acknowledged")
                }
                try await connection.checkedQuery(
                    """
                    UPDATE tasks SET status = 'acknowledged', acknowledged_at = \(now), snoozed_until = NULL, updated_at = now()
                    WHERE task_id = \(taskID)
                    """, logger: logger)
            case .done(let note):
                if let note { detail["note"] = .string(note) }
                try await connection.checkedQuery(
                    "UPDATE tasks SET status = 'done', closed_at = \(now), updated_at = now() WHERE task_id = \(taskID)",
                    logger: logger)
                let touchpoint = AccountEvent(
                    messageId: "task-done-\(taskID)", type: .track, event: CanonicalEvent.touchpointLogged,
                    accountId: found.account, userId: nil, timestamp: now,
                    properties: ["channel": "task", "playbook": .string(found.playbook), "taskId": .string(taskID)])
                try await enqueue(
                    exchange: "cairn.events", routingKeys: [found.account], messageIDs: [touchpoint.messageId],
                    payloads: [String(decoding: touchpoint.encoded(), as: UTF8.self)], on: connection, logger: logger)
            case .snooze(let until):
                guard until > now else { throw TaskActionError(code: .invalid, message: "snooze until a time in the future") }
                detail["until"] = .string(Timestamp.format(until))
                try await connection.checkedQuery(
                    "UPDATE tasks SET status = 'snoozed', snoozed_until = \(until), updated_at = now() WHERE task_id = \(taskID)",
                    logger: logger)
            case .dismiss(let reason):
                guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw TaskActionError(code: .invalid, message: "dismissing a task needs a reason")
                }
                detail["reason"] = .string(reason)
                try await connection.checkedQuery(
                    """
                    UPDATE tasks SET status = 'dismissed', closed_at = \(now), close_reason = \(reason), updated_at = now()
                    WHERE task_id = \(taskID)
                    """, logger: logger)
            case .reassign(let assignee):
                guard ["csm", "pool", "manager"].contains(assignee.kind), !assignee.id.isEmpty else {
                    throw TaskActionError(code: .invalid, message: "reassign to csm.<id>, pool.<name> or manager.<id>")
                }
                detail["to"] = .string(assignee.destination)
                guard var task = try? TaskMessage.parse(Array(found.payload.utf8)) else {
                    throw TaskActionError(code: .invalid, message: "task \(taskID.prefix(100)) has an unreadable payload")
                }
                task.assignee = assignee
                let payload = String(decoding: task.encoded(), as: UTF8.self)
                try await connection.checkedQuery(
                    """
                    UPDATE tasks SET assignee_kind = \(assignee.kind), assignee_id = \(assignee.id), assignee_member = \(assignee.member),
                        payload = \(payload)::jsonb, escalated_at = NULL, updated_at = now()
                    WHERE task_id = \(taskID)
                    """, logger: logger)
                try await enqueue(
                    exchange: "cairn.tasks", routingKeys: [assignee.destination], messageIDs: ["\(taskID)/to/\(assignee.destination)/\(Timestamp.format(now))"],
                    payloads: [payload], on: connection, logger: logger)
            }
            let detailText = String(decoding: JSONValue.object(detail).serialized(), as: UTF8.self)
            try await connection.checkedQuery(
                """
                INSERT INTO task_events (task_id, at, action, actor, detail)
                VALUES (\(taskID), \(now), \(action.name), \(actor), \(detailText)::jsonb)
                """, logger: logger)
            return try await taskRecord(taskID, on: connection, logger: logger)!
        }
    }

    /// One task with its history.
    public func task(_ taskID: String, logger: Logger) async throws -> TaskRecord? {
        try await client.withConnection { connection in try await taskRecord(taskID, on: connection, logger: logger) }
    }

    /// Tasks of an assignee (`csm.dana`, `pool.smb`, `manager.lee`), open ones by default, most urgent first.
    public func tasks(assignee: String?, statuses: [String], limit: Int, logger: Logger) async throws -> [TaskRecord] {
        let parts = assignee?.split(separator: ".", maxSplits: 1).map(String.init) ?? []
        let kind = parts.first ?? ""
        let id = parts.count > 1 ? parts[1] : ""
        return try await client.withConnection { connection in
            try await taskRecords(
                """
                WHERE kind = 'task' AND status = ANY(\(statuses))
                  AND (\(kind) = '' OR (assignee_kind = \(kind) AND assignee_id = \(id)))
                ORDER BY priority, due_at, task_id
                LIMIT \(limit)
                """, on: connection, logger: logger)
        }
    }

    func taskRecord(_ taskID: String, on connection: PostgresConnection, logger: Logger) async throws -> TaskRecord? {
        try await taskRecords("WHERE task_id = \(taskID)", on: connection, logger: logger).first
    }

    /// The tasks `tail` selects, with their histories: two queries whatever their number.
    private func taskRecords(_ tail: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [TaskRecord] {
        var query: PostgresQuery = """
            SELECT task_id, account_id, playbook, title, status, priority, assignee_kind || '.' || assignee_id, assignee_member,
                   created_at, due_at, snoozed_until, closed_at
            FROM tasks

            """
        query.sql += tail.sql
        query.binds = tail.binds
        var records: [TaskRecord] = []
        let rows = try await connection.checkedQuery(query, logger: logger)
        for try await row in rows.decode((String, String, String, String, String, String, String, String?, Date, Date, Date?, Date?).self) {
            records.append(
                TaskRecord(
                    taskId: row.0, accountId: row.1, playbook: row.2, title: row.3, status: row.4, priority: row.5,
                    assignee: row.6, member: row.7, createdAt: row.8, dueAt: row.9, snoozedUntil: row.10, closedAt: row.11,
                    history: []))
        }
        guard !records.isEmpty else { return [] }
        var histories: [String: [TaskRecord.Event]] = [:]
        let events = try await connection.checkedQuery(
            """
            SELECT task_id, at, action, actor, detail::text FROM task_events
            WHERE task_id = ANY(\(records.map(\.taskId))) ORDER BY id
            """, logger: logger)
        for try await (id, at, action, actor, detail) in events.decode((String, Date, String, String?, String).self) {
            histories[id, default: []].append(
                .init(at: at, action: action, actor: actor, detail: (try? JSONValue.parse(Array(detail.utf8))) ?? .null))
        }
        return records.map { record in
            var record = record
            record.history = histories[record.taskId] ?? []
            return record
        }
    }

    /// Reopens snoozed tasks whose time came, and tells managers about open tasks past due that nobody
    /// acknowledged (once per task): a copy of the task goes to `cairn.tasks.manager.<id>`.
    public func sweepTasks(now: Date, logger: Logger) async throws -> (reopened: Int, escalated: Int) {
        try await client.checkedTransaction(logger: logger) { connection in
            var reopened = 0
            let woken = try await connection.checkedQuery(
                """
                UPDATE tasks SET status = 'open', snoozed_until = NULL, updated_at = now()
                WHERE status = 'snoozed' AND snoozed_until <= \(now) RETURNING task_id
                """, logger: logger)
            var wokenIDs: [String] = []
            for try await id in woken.decode(String.self) { wokenIDs.append(id); reopened += 1 }
            if !wokenIDs.isEmpty {
                try await connection.checkedQuery(
                    "INSERT INTO task_events (task_id, at, action) SELECT unnest(\(wokenIDs)), \(now), 'reopened'", logger: logger)
            }
            let late = try await connection.checkedQuery(
                """
                SELECT task_id, payload::text FROM tasks
                WHERE status = 'open' AND kind = 'task' AND escalated_at IS NULL AND due_at < \(now)
                ORDER BY task_id LIMIT 1000 FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var escalated = 0
            var lateTasks: [(String, String)] = []
            for try await row in late.decode((String, String).self) { lateTasks.append(row) }
            for (taskID, payload) in lateTasks {
                guard var task = try? TaskMessage.parse(Array(payload.utf8)),
                    let manager = engine.roster.manager(of: task.assignee)
                else { continue }
                let owner = task.assignee.destination
                task.assignee = TaskMessage.Assignee(kind: "manager", id: manager)
                task.title = "Late: \(task.title) (\(owner))"
                try await enqueue(
                    exchange: "cairn.tasks", routingKeys: [task.assignee.destination], messageIDs: ["\(taskID)/late"],
                    payloads: [String(decoding: task.encoded(), as: UTF8.self)], on: connection, logger: logger)
                try await connection.checkedQuery(
                    "UPDATE tasks SET escalated_at = \(now), updated_at = now() WHERE task_id = \(taskID)", logger: logger)
                try await connection.checkedQuery(
                    """
                    INSERT INTO task_events (task_id, at, action, detail)
                    VALUES (\(taskID), \(now), 'escalated', \(String(decoding: JSONValue.object(["to": .string(task.assignee.destination)]).serialized(), as: UTF8.self))::jsonb)
                    """, logger: logger)
                escalated += 1
            }
            return (reopened, escalated)
        }
    }
}
