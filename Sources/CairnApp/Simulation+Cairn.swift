public import CairnAMQP
public import CairnCore
public import CairnSimulator
public import CairnStore
import Foundation
public import Logging
import PostgresNIO

/// Publishes simulated events to `cairn.events` with publisher confirms, as any producer would: a batch returns
/// once the broker has every event of it. A batch the broker could not take (away, connection dropped, nacked) is
/// sent again for up to a minute, like `HTTPEventSink` does with ingest.
public actor AMQPEventSink: EventSink {
    let connection: AMQPConnection
    let logger: Logger
    var published = 0

    public init(connection: AMQPConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public func write(_ events: [AccountEvent]) async throws {
        for start in stride(from: 0, to: events.count, by: 1_000) {
            let messages = events[start..<min(start + 1_000, events.count)].map {
                AMQPMessage(exchange: CairnTopology.events, routingKey: $0.routingKey, body: $0.encoded(), messageID: $0.messageId)
            }
            try await connection.publish(messages, retryingFor: .seconds(60), logger: logger)
            published += messages.count
        }
    }

    public func finish() async throws {}
}

/// What the customer base looks like in PostgreSQL after a simulation, next to its ground truth.
public struct SimulationReport: Sendable {
    public var stages: [(segment: String, stage: String, band: String, accounts: Int)]
    public var tasks: [(queue: String, open: Int)]
    public var outreach: Int
    public var evaluation: Evaluation

    /// The evaluation observes each account `leadDays` before its fate (churn, renewal or expansion date, or the
    /// end of the period when that comes first): its score then, and the first day its health was red.
    public static func make(truth: GroundTruth, store: Store, leadDays: Int = 30, logger: Logger) async throws -> SimulationReport {
        var stages: [(String, String, String, Int)] = []
        for try await row in try await store.client.query(
            """
            SELECT COALESCE(a.segment, '-'), COALESCE(j.stage, 'awareness'), COALESCE(h.band, '-'), count(*)::int8
            FROM accounts a LEFT JOIN journey j USING (account_id) LEFT JOIN health h USING (account_id)
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """, logger: logger
        ).decode((String, String, String, Int).self) { stages.append(row) }
        var tasks: [(String, Int)] = []
        for try await row in try await store.client.query(
            """
            SELECT assignee_kind || '.' || assignee_id, count(*)::int8 FROM tasks
            WHERE kind = 'task' AND status IN ('open', 'acknowledged', 'snoozed') GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20
            """, logger: logger
        ).decode((String, Int).self) { tasks.append(row) }
        var outreach = 0
        for try await count in try await store.client.query(
            "SELECT count(*)::int8 FROM tasks WHERE kind = 'outreach'", logger: logger).decode(Int.self) { outreach = count }

        let end = truth.start.addingTimeInterval(Double(truth.days) * 86_400)
        let ids = truth.accounts.map(\.accountId)
        let cutoffs = truth.accounts.map { min($0.fateDate, end).addingTimeInterval(-Double(leadDays) * 86_400) }
        var observations: [AccountObservation] = []
        for try await (id, score, band, flagged) in try await store.client.query(
            """
            SELECT x.id, h.score, h.band, f.first_red
            FROM unnest(\(ids), \(cutoffs)) AS x(id, cutoff)
            JOIN LATERAL (SELECT score, band FROM health_history
                          WHERE account_id = x.id AND day <= x.cutoff::date ORDER BY day DESC LIMIT 1) h ON true
            LEFT JOIN LATERAL (SELECT min(day)::timestamptz AS first_red FROM health_history
                               WHERE account_id = x.id AND band = 'red') f ON true
            """, logger: logger
        ).decode((String, Int, String, Date?).self) {
            observations.append(
                AccountObservation(accountId: id, score: Double(score), band: HealthBand(rawValue: band) ?? .yellow, firstFlaggedAt: flagged))
        }
        return SimulationReport(
            stages: stages, tasks: tasks, outreach: outreach, evaluation: Evaluation(truth: truth, observations: observations))
    }

    /// Accounts per segment, stage and band; open tasks per queue; the evaluation table.
    public func text() -> String {
        var lines = ["accounts per segment, stage and band:"]
        lines += stages.map { "  \($0.segment.padding(toLength: 12, withPad: " ", startingAt: 0)) \($0.stage.padding(toLength: 12, withPad: " ", startingAt: 0)) \($0.band.padding(toLength: 7, withPad: " ", startingAt: 0)) \($0.accounts)" }
        lines.append("open tasks per queue (top 20):")
        lines += tasks.map { "  cairn.tasks.\($0.queue): \($0.open)" }
        lines.append("automated outreach messages sent: \(outreach)")
        lines.append("")
        lines.append(evaluation.table())
        return lines.joined(separator: "\n")
    }
}
