import CairnCore
import Foundation
public import Logging
import PostgresNIO

/// An event of the account's log as the timeline shows it: a JSON object with `messageId`, `type`, `occurredAt`,
/// `name` and `userId` (absent when null) and `properties` and `traits` as they were logged.
public typealias TimelineRow = JSONRow<TimePosition>

/// A position in a newest-first list: the time of the last row shown (as PostgreSQL prints it, so it converts back
/// exactly, to the microsecond) and its id.
public struct TimePosition: Sendable, Hashable, Codable {
    public var time: String
    public var id: String

    public init(time: String, id: String) {
        self.time = time
        self.id = id
    }
}

extension Store {
    /// The account's events, newest first, before `position`.
    public func timeline(
        accountId: String, before position: TimePosition?, limit: Int, logger: Logger
    ) async throws -> [TimelineRow] {
        let time = position?.time ?? "infinity"
        let id = position?.id ?? ""
        // The JSON is spliced in Swift from the columns and the stored text of `properties` and `traits`, as for the
        // account list. ORDER BY names the table's column: a bare `occurred_at` would be the output column of that
        // name, the text, and sort by how times print.
        let rows = try await client.query(
            """
            SELECT message_id, occurred_at::text, type, name, user_id, occurred_at,
                   (payload->'properties')::text, (payload->'traits')::text
            FROM events
            WHERE account_id = \(accountId) AND (occurred_at, message_id) < (\(time)::timestamptz, \(id))
            ORDER BY events.occurred_at DESC, events.message_id DESC
            LIMIT \(limit)
            """, logger: logger)
        var events: [TimelineRow] = []
        for try await (id, time, type, name, userId, occurredAt, properties, traits) in rows.decode(
            (String, String, String, String?, String?, Date, String?, String?).self)
        {
            var object = JSONObjectWriter(capacity: 512)
            object.field("messageId", id)
            object.field("type", type)
            object.field("name", name)
            object.field("userId", userId)
            object.field("occurredAt", date: occurredAt)
            object.field("properties", json: properties)
            object.field("traits", json: traits)
            events.append(TimelineRow(json: object.text, position: TimePosition(time: time, id: id)))
        }
        return events
    }
}

/// The account detail's JSON (without its timeline page), written by PostgreSQL in one statement: the summary's
/// fields (null when unknown), open tasks, contract facts, people by persona and health history.
enum AccountDetailJSON {
    static let personas = ["sponsor", "champion", "admin", "end_user"]

    static let query: String = {
        let ts = AccountJSON.timestamp
        let byPersona = personas.map { persona in
            "'\(persona)', COALESCE(jsonb_agg(p.json ORDER BY p.rank) FILTER (WHERE p.persona = '\(persona)'), '[]')"
        }.joined(separator: ", ")
        return """
            SELECT jsonb_build_object(
                'accountId', a.account_id, 'name', a.name, 'segment', a.segment, 'stage', COALESCE(j.stage, 'awareness'),
                'stageEnteredAt', \(ts("j.stage_entered_at")), 'csmId', a.csm_id, 'eventCount', a.event_count,
                'lastEventAt', \(ts("a.last_event_at")), 'atRisk', a.at_risk,
                \(AccountJSON.journey), 'timeToValueDays', j.time_to_value_days,
                'health', CASE WHEN \(AccountJSON.healthKnown) THEN \(AccountJSON.healthObject) END,
                'openTasks', (
                    SELECT COALESCE(jsonb_agg(jsonb_build_object(
                        'taskId', t.task_id, 'playbook', t.playbook, 'title', t.title, 'status', t.status,
                        'priority', t.priority, 'assignee', t.assignee_kind || '.' || t.assignee_id,
                        'dueAt', \(ts("t.due_at"))) ORDER BY t.created_at), '[]')
                    FROM tasks t
                    WHERE t.account_id = a.account_id AND t.kind = 'task' AND t.status IN ('open', 'acknowledged', 'snoozed')),
                'contract', jsonb_strip_nulls(jsonb_build_object(
                    'plan', a.facts->'plan'->>'value',
                    'seats', CASE WHEN json_typeof(a.facts->'seats'->'value') = 'number'
                                   AND abs((a.facts->'seats'->>'value')::float8) < 9.2e18
                             THEN round((a.facts->'seats'->>'value')::float8)::int8 END,
                    'arr', a.arr, 'renewalDate', \(ts("a.renewal_at")), 'contractSignedAt', \(ts("a.contract_at")))),
                'usersByPersona', (
                    SELECT jsonb_build_object(\(byPersona))
                    FROM (
                        SELECT row_number() OVER (
                                   ORDER BY CASE u.role WHEN 'sponsor' THEN 0 WHEN 'champion' THEN 1 WHEN 'admin' THEN 2 ELSE 3 END,
                                            u.last_seen_at DESC, u.user_id) AS rank,
                               CASE WHEN u.role IN ('sponsor', 'champion', 'admin') THEN u.role ELSE 'end_user' END AS persona,
                               jsonb_strip_nulls(jsonb_build_object(
                                   'userId', u.user_id, 'role', u.role, 'leftAt', \(ts("u.left_at")),
                                   'firstSeenAt', \(ts("u.first_seen_at")), 'lastSeenAt', \(ts("u.last_seen_at")),
                                   'eventCount', u.event_count,
                                   'activeDaysLast30', (
                                       SELECT count(*) FROM unnest(u.active_days) d
                                       WHERE d > (extract(epoch FROM a.last_event_at) / 86400)::int4 - 30))) AS json
                        FROM users u WHERE u.account_id = a.account_id
                        ORDER BY rank LIMIT 200) p),
                'healthHistory', (
                    SELECT COALESCE(jsonb_agg(jsonb_build_object('day', r.day::text, 'score', r.score, 'band', r.band) ORDER BY r.day), '[]')
                    FROM (SELECT day, score, band FROM health_history WHERE account_id = a.account_id ORDER BY day DESC LIMIT 180) r)
            )::text
            FROM accounts a
            LEFT JOIN journey j ON j.account_id = a.account_id
            LEFT JOIN health h ON h.account_id = a.account_id
            WHERE a.account_id = $1
            """
    }()
}

extension Store {
    /// The account as `GET /api/v1/accounts/{id}` shows it, as JSON text (its timeline page apart), or nil when
    /// the account is not known.
    public func accountDetail(_ id: String, logger: Logger) async throws -> String? {
        var binds = PostgresBindings()
        binds.append(id)
        for try await json in try await client.query(PostgresQuery(unsafeSQL: AccountDetailJSON.query, binds: binds), logger: logger)
            .decode(String.self)
        {
            return json
        }
        return nil
    }
}
