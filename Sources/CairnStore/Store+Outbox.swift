public import Logging
import PostgresNIO

/// A message waiting in the outbox.
public struct OutboxMessage: Sendable, Hashable {
    public var id: Int64
    public var exchange: String
    public var routingKey: String
    public var messageID: String
    public var payload: String
}

extension Store {
    /// Claims up to `limit` unsent outbox rows, hands them to `publish`, and marks them sent only if `publish`
    /// returns (that is, after the broker confirmed them). Rows are claimed with `SKIP LOCKED`, so several relays
    /// can run at once without sending a row twice; a crash before the commit leaves the rows unsent, and they
    /// are sent again (consumers recognise the duplicate by its message id).
    /// - Returns: how many rows were sent.
    public func relayOutbox(
        limit: Int, logger: Logger, publish: ([OutboxMessage]) async throws -> Void
    ) async throws -> Int {
        try await client.checkedTransaction(logger: logger) { connection in
            let rows = try await connection.checkedQuery(
                """
                SELECT id, exchange, routing_key, message_id, payload FROM outbox
                WHERE sent_at IS NULL ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var messages: [OutboxMessage] = []
            for try await (id, exchange, key, messageID, payload) in rows.decode((Int64, String, String, String, String).self) {
                messages.append(OutboxMessage(id: id, exchange: exchange, routingKey: key, messageID: messageID, payload: payload))
            }
            guard !messages.isEmpty else { return 0 }
            try await publish(messages)
            try await connection.checkedQuery(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY(\(messages.map(\.id)))", logger: logger)
            return messages.count
        }
    }

    /// Rows not yet relayed (for readiness checks and tests).
    public func unsentOutboxCount(logger: Logger) async throws -> Int {
        try await scalar("SELECT count(*)::int8 FROM outbox WHERE sent_at IS NULL", logger: logger)
    }

    func scalar(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        for try await value in try await client.query(query, logger: logger).decode(Int.self) { return value }
        return 0
    }
}
