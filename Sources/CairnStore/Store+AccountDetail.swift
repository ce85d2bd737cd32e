public import CairnCore
public import Foundation
public import Logging
import PostgresNIO

/// A person at an account with their activity.
public struct AccountUser: Sendable, Hashable, Codable {
    public var userId: String
    public var role: String?
    public var leftAt: Date?
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    public var eventCount: Int
    /// Days with product use in the 30 days up to the account's latest event.
    public var activeDaysLast30: Int
}

/// One day of an account's health.
public struct HealthHistoryPoint: Sendable, Hashable, Codable {
    /// `YYYY-MM-DD`.
    public var day: String
    public var score: Int
    public var band: String
}

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

/// Contract facts of an account beside its journey.
public struct AccountContract: Sendable, Hashable, Codable {
    public var plan: String?
    public var seats: Int?
    public var arr: Double?
    public var renewalDate: Date?
    public var contractSignedAt: Date?
}

extension Store {
    /// The account's people, key personas first, then the most recently seen; at most `limit`.
    public func users(accountId: String, limit: Int = 200, logger: Logger) async throws -> [AccountUser] {
        let rows = try await client.query(
            """
            SELECT u.user_id, u.role, u.left_at, u.first_seen_at, u.last_seen_at, u.event_count,
                   (SELECT count(*) FROM unnest(u.active_days) d
                    WHERE d > (SELECT (extract(epoch FROM a.last_event_at) / 86400)::int4 - 30
                               FROM accounts a WHERE a.account_id = u.account_id))::int8
            FROM users u WHERE u.account_id = \(accountId)
            ORDER BY CASE u.role WHEN 'sponsor' THEN 0 WHEN 'champion' THEN 1 WHEN 'admin' THEN 2 ELSE 3 END,
                     u.last_seen_at DESC, u.user_id
            LIMIT \(limit)
            """, logger: logger)
        var users: [AccountUser] = []
        for try await row in rows.decode((String, String?, Date?, Date, Date, Int, Int).self) {
            users.append(
                AccountUser(
                    userId: row.0, role: row.1, leftAt: row.2, firstSeenAt: row.3, lastSeenAt: row.4, eventCount: row.5,
                    activeDaysLast30: row.6))
        }
        return users
    }

    /// The account's daily health, oldest first, for the last `days` days it was evaluated.
    public func healthHistory(accountId: String, days: Int = 180, logger: Logger) async throws -> [HealthHistoryPoint] {
        let rows = try await client.query(
            """
            SELECT day::text, score, band FROM (
                SELECT day, score, band FROM health_history WHERE account_id = \(accountId) ORDER BY day DESC LIMIT \(days)
            ) recent ORDER BY day
            """, logger: logger)
        var points: [HealthHistoryPoint] = []
        for try await row in rows.decode((String, Int, String).self) {
            points.append(HealthHistoryPoint(day: row.0, score: row.1, band: row.2))
        }
        return points
    }

    /// The account's events, newest first, before `position`.
    public func timeline(
        accountId: String, before position: TimePosition?, limit: Int, logger: Logger
    ) async throws -> [TimelineRow] {
        let time = position?.time ?? "infinity"
        let id = position?.id ?? ""
        let rows = try await client.query(
            """
            SELECT message_id, occurred_at::text,
                   (jsonb_strip_nulls(jsonb_build_object(
                        'messageId', message_id, 'type', type, 'name', name, 'userId', user_id,
                        'occurredAt', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
                    || CASE WHEN payload ? 'properties' THEN jsonb_build_object('properties', payload->'properties') ELSE '{}' END
                    || CASE WHEN payload ? 'traits' THEN jsonb_build_object('traits', payload->'traits') ELSE '{}' END)::text
            FROM events
            WHERE account_id = \(accountId) AND (occurred_at, message_id) < (\(time)::timestamptz, \(id))
            ORDER BY occurred_at DESC, message_id DESC
            LIMIT \(limit)
            """, logger: logger)
        var events: [TimelineRow] = []
        for try await (id, time, json) in rows.decode((String, String, String).self) {
            events.append(TimelineRow(json: json, position: TimePosition(time: time, id: id)))
        }
        return events
    }

    /// Plan, seats, ARR, renewal and signing dates of the account, if it exists.
    public func contract(accountId: String, logger: Logger) async throws -> AccountContract? {
        let rows = try await client.query(
            """
            SELECT facts->'plan'->>'value',
                   CASE WHEN jsonb_typeof(facts->'seats'->'value') = 'number' THEN (facts->'seats'->>'value')::float8 END,
                   arr, renewal_at, contract_at
            FROM accounts WHERE account_id = \(accountId)
            """, logger: logger)
        for try await row in rows.decode((String?, Double?, Double?, Date?, Date?).self) {
            return AccountContract(
                plan: row.0, seats: row.1.flatMap { Int(exactly: $0.rounded()) }, arr: row.2, renewalDate: row.3,
                contractSignedAt: row.4)
        }
        return nil
    }
}
