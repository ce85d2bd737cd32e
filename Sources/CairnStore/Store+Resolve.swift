import CairnCore
import Foundation
import Logging
import PostgresNIO

/// Events of a batch after account resolution.
struct ResolvedBatch {
    /// Events with their account, including parked events released by a mapping this batch taught.
    var events: [AccountEvent]
    /// Events kept in `pending_events` because their user's account is not known yet.
    var parked: Int
    /// Parked events this batch released.
    var released: Int
}

extension Store {
    /// Gives every event of the batch its account: events that named one keep it; events that named only a user
    /// take the account an `identify` or `group` call taught for that user (in this batch or an earlier one);
    /// the rest are parked in `pending_events` and applied in the transaction that later learns their mapping.
    ///
    /// A transaction advisory lock per user serialises "park because unknown" against "learn and release", so
    /// no parked event can miss the mapping that a concurrent worker commits. The locks are taken in hash
    /// order, before any account row is locked, so workers never wait on each other in a cycle.
    func resolveAccounts(_ events: [AccountEvent], on connection: PostgresConnection, logger: Logger) async throws -> ResolvedBatch {
        let unresolved = events.filter { $0.accountId == nil }
        var links: [String: (account: String, at: Date)] = [:]  // the latest link per user in this batch
        for event in events {
            guard let link = event.accountLink else { continue }
            if let known = links[link.userId], known.at > event.timestamp { continue }
            links[link.userId] = (link.accountId, event.timestamp)
        }
        guard !unresolved.isEmpty || !links.isEmpty else { return ResolvedBatch(events: events, parked: 0, released: 0) }

        let users = Set(unresolved.compactMap(\.userId)).union(links.keys).sorted()
        try await connection.checkedQuery(
            """
            SELECT pg_advisory_xact_lock(k)
            FROM (SELECT DISTINCT hashtextextended('cairn.user:' || u, 0) AS k FROM unnest(\(users)) AS u ORDER BY k OFFSET 0) AS s
            """, logger: logger)

        if !links.isEmpty {
            let taught = links.keys.sorted()
            try await connection.checkedQuery(
                """
                INSERT INTO user_accounts (user_id, account_id, learned_at)
                SELECT u, a, t FROM unnest(\(taught), \(taught.map { links[$0]!.account }), \(taught.map { links[$0]!.at }))
                    AS x(u, a, t)
                ORDER BY u
                ON CONFLICT (user_id) DO UPDATE SET account_id = EXCLUDED.account_id, learned_at = EXCLUDED.learned_at,
                    updated_at = now()
                WHERE EXCLUDED.learned_at >= user_accounts.learned_at
                """, logger: logger)
        }

        var mapping: [String: String] = [:]
        let rows = try await connection.checkedQuery(
            "SELECT user_id, account_id FROM user_accounts WHERE user_id = ANY(\(users))", logger: logger)
        for try await (user, account) in rows.decode((String, String).self) { mapping[user] = account }

        // Events of this batch that stay unresolved are parked (unless an earlier delivery was applied already).
        var resolved = events.filter { $0.accountId != nil }
        var toPark: [AccountEvent] = []
        for var event in unresolved {
            if let account = event.userId.flatMap({ mapping[$0] }) {
                event.accountId = account
                resolved.append(event)
            } else {
                toPark.append(event)
            }
        }
        var parked = 0
        if !toPark.isEmpty {
            let inserted = try await connection.checkedQuery(
                """
                INSERT INTO pending_events (message_id, user_id, occurred_at, payload)
                SELECT m, u, o, p FROM unnest(\(toPark.map(\.messageId)), \(toPark.map { $0.userId.orEmpty }),
                                              \(toPark.map(\.timestamp)),
                                              \(toPark.map { String(decoding: $0.encoded(), as: UTF8.self) })) AS x(m, u, o, p)
                WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = x.m)
                ORDER BY m
                ON CONFLICT (message_id) DO NOTHING
                RETURNING message_id
                """, logger: logger)
            for try await _ in inserted.decode(String.self) { parked += 1 }
        }

        // Parked events of users whose account is known now are released into this batch.
        var released = 0
        let known = users.filter { mapping[$0] != nil }
        if !known.isEmpty {
            let rows = try await connection.checkedQuery(
                "DELETE FROM pending_events WHERE user_id = ANY(\(known)) RETURNING user_id, payload", logger: logger)
            for try await (user, payload) in rows.decode((String, String).self) {
                var event = try AccountEvent.parse(Array(payload.utf8))
                event.accountId = mapping[user]
                resolved.append(event)
                released += 1
            }
        }

        // A released event may also be in this batch (a redelivery): keep one.
        var seen = Set<String>()
        resolved = resolved.filter { seen.insert($0.messageId).inserted }
        return ResolvedBatch(events: resolved, parked: parked, released: released)
    }
}

extension AccountEvent {
    /// The account of an event that went through `resolveAccounts`.
    var resolvedAccount: String {
        guard let accountId else { preconditionFailure("event \(messageId) reached the apply step without an account") }
        return accountId
    }
}
