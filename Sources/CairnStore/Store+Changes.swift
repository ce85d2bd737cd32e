public import Foundation
public import Logging
import PostgresNIO

/// A change the live stream announces: a stage entered, a health score or band changed, a task created or updated.
public struct StateChange: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case stage, health, task
    }

    public var kind: Kind
    public var accountId: String
    /// The task id for tasks, the account id otherwise.
    public var id: String
    /// The new stage, band or task status.
    public var value: String
    /// The score for health, the assignee for tasks.
    public var detail: String?
    /// When the row changed (wall clock, microseconds).
    public var changedAt: Date
    /// `changedAt` in microseconds since 1970, exactly as PostgreSQL stores it.
    public var changedAtMicros: Int64
}

extension Store {
    /// Changes made at `since` or later (microseconds since 1970), oldest first, at most `limit`.
    public func changes(sinceMicros since: Int64, limit: Int, logger: Logger) async throws -> [StateChange] {
        let rows = try await client.query(
            """
            WITH since AS (SELECT 'epoch'::timestamptz + (\(since) || ' microseconds')::interval AS at)
            SELECT kind, account_id, id, value, detail, changed_at,
                   (extract(epoch FROM changed_at) * 1000000)::int8
            FROM (
                SELECT 'stage' kind, j.account_id, j.account_id id, j.stage value, NULL::text detail, j.stage_changed_at changed_at
                FROM journey j WHERE j.stage_changed_at >= (SELECT at FROM since)
                UNION ALL
                SELECT 'health', h.account_id, h.account_id, h.band, h.score::text, h.score_changed_at
                FROM health h WHERE h.score_changed_at >= (SELECT at FROM since)
                UNION ALL
                SELECT 'task', k.account_id, k.task_id, k.status, k.assignee_kind || '.' || k.assignee_id, k.updated_at
                FROM tasks k WHERE k.kind = 'task' AND k.updated_at >= (SELECT at FROM since)
            ) changes
            ORDER BY changed_at, kind, id LIMIT \(limit)
            """, logger: logger)
        var changes: [StateChange] = []
        for try await row in rows.decode((String, String, String, String, String?, Date, Int64).self) {
            guard let kind = StateChange.Kind(rawValue: row.0) else { continue }
            changes.append(
                StateChange(kind: kind, accountId: row.1, id: row.2, value: row.3, detail: row.4, changedAt: row.5, changedAtMicros: row.6))
        }
        return changes
    }

    /// The database's clock in microseconds since 1970: where a new stream starts.
    public func clockMicros(logger: Logger) async throws -> Int64 {
        for try await value in try await client.query(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8", logger: logger
        ).decode(Int64.self) {
            return value
        }
        return 0
    }
}
