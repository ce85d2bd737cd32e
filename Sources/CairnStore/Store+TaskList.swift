public import Foundation
public import Logging
import PostgresNIO

/// A task as the task list shows it.
public struct TaskListItem: Sendable, Hashable, Codable {
    public var taskId: String
    public var accountId: String
    public var playbook: String
    public var title: String
    public var status: String
    public var priority: String
    /// `kind.id`, e.g. `csm.dana` or `pool.unassigned`: the task queue's routing key.
    public var assignee: String
    public var createdAt: Date
    public var dueAt: Date
}

/// Open work of one assignee.
public struct QueueLoad: Sendable, Hashable, Codable {
    public var assignee: String
    public var open: Int
    public var acknowledged: Int
    public var overdue: Int
}

extension Store {
    /// Tasks, newest first, optionally of one assignee (`kind.id`) and status, before `position`.
    public func tasks(
        assignee: (kind: String, id: String)?, status: String?, before position: TimePosition?, limit: Int, logger: Logger
    ) async throws -> [(TaskListItem, TimePosition)] {
        var builder = QueryBuilder()
        var conditions: [String] = ["kind = 'task'"]
        if let assignee {
            conditions.append("assignee_kind = \(try builder.bind(assignee.kind)) AND assignee_id = \(try builder.bind(assignee.id))")
        }
        if let status { conditions.append("status = \(try builder.bind(status))") }
        if let position {
            conditions.append("(created_at, task_id) < (\(try builder.bind(position.time))::timestamptz, \(try builder.bind(position.id)))")
        }
        builder.sql = """
            SELECT task_id, account_id, playbook, title, status, priority, assignee_kind || '.' || assignee_id, created_at, due_at,
                   created_at::text AS position
            FROM tasks \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY created_at DESC, task_id DESC LIMIT \(try builder.bind(limit))
            """
        var tasks: [(TaskListItem, TimePosition)] = []
        for try await row in try await client.query(builder.query, logger: logger)
            .decode((String, String, String, String, String, String, String, Date, Date, String).self)
        {
            tasks.append(
                (TaskListItem(
                    taskId: row.0, accountId: row.1, playbook: row.2, title: row.3, status: row.4, priority: row.5,
                    assignee: row.6, createdAt: row.7, dueAt: row.8), TimePosition(time: row.9, id: row.0)))
        }
        return tasks
    }

    /// Open and acknowledged tasks per assignee, the busiest first; `overdue` counts those past their due time at `now`.
    public func queueLoad(now: Date, logger: Logger) async throws -> [QueueLoad] {
        var load: [QueueLoad] = []
        for try await row in try await client.query(
            """
            SELECT assignee_kind || '.' || assignee_id, count(*) FILTER (WHERE status = 'open')::int8,
                   count(*) FILTER (WHERE status = 'acknowledged')::int8, count(*) FILTER (WHERE due_at < \(now))::int8
            FROM tasks WHERE status IN ('open', 'acknowledged', 'snoozed') AND kind = 'task'
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 500
            """, logger: logger
        ).decode((String, Int, Int, Int).self) {
            load.append(QueueLoad(assignee: row.0, open: row.1, acknowledged: row.2, overdue: row.3))
        }
        return load
    }
}
