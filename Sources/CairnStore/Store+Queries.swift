public import CairnCore
public import Foundation
public import Logging
import PostgresNIO

/// An account as the API lists it.
public struct AccountSummary: Sendable, Hashable, Codable {
    public struct Health: Sendable, Hashable, Codable {
        public var score: Int
        public var band: String
        public var components: [HealthComponent]
        public var explanation: String
        public var updatedAt: Date
    }

    public var accountId: String
    public var name: String?
    public var segment: String?
    public var stage: String
    public var stageEnteredAt: Date?
    public var csmId: String?
    public var eventCount: Int
    public var lastEventAt: Date?
    public var health: Health?
    public var atRisk: Bool
    public var milestones: [MilestoneStatus]
    public var stageHistory: [StageVisit]
    public var tracks: [ParallelTrack]
    public var timeToValueDays: Double?
}

extension Store {
    public func account(_ id: String, logger: Logger) async throws -> AccountSummary? {
        try await accounts(where: "WHERE a.account_id = \(id)", logger: logger).first
    }

    /// Whether the account is known (without reading its state).
    public func accountExists(_ id: String, logger: Logger) async throws -> Bool {
        try await scalar("SELECT count(*)::int8 FROM accounts WHERE account_id = \(id)", logger: logger) > 0
    }

    /// Accounts ordered by id, after `cursor` (the last id of the previous page).
    public func accounts(after cursor: String?, limit: Int, logger: Logger) async throws -> [AccountSummary] {
        try await accounts(
            where: "WHERE a.account_id > \(cursor ?? "") ORDER BY a.account_id LIMIT \(limit)", logger: logger)
    }

    func accounts(where tail: PostgresQuery, logger: Logger) async throws -> [AccountSummary] {
        var query: PostgresQuery = """
            SELECT a.account_id, a.name, a.segment, COALESCE(j.stage, 'awareness'), j.stage_entered_at, a.csm_id,
                   a.event_count, a.last_event_at, h.score, h.band, h.components::text, h.explanation, h.updated_at,
                   a.at_risk, COALESCE(j.milestones::text, '[]'), COALESCE(j.stage_history::text, '[]'),
                   COALESCE(j.tracks::text, '[]'), j.time_to_value_days
            FROM accounts a
            LEFT JOIN journey j ON j.account_id = a.account_id
            LEFT JOIN health h ON h.account_id = a.account_id

            """
        query.sql += tail.sql
        query.binds = tail.binds
        let rows = try await client.query(query, logger: logger)
        var result: [AccountSummary] = []
        for try await row in rows.decode(
            (String, String?, String?, String, Date?, String?, Int, Date?, Int?, String?, String?, String?, Date?, Bool, String,
             String, String, Double?).self)
        {
            var health: AccountSummary.Health?
            if let score = row.8, let band = row.9 {
                health = .init(
                    score: score, band: band,
                    components: try StateCodec.decodeComponents(row.10),
                    explanation: row.11 ?? "", updatedAt: row.12 ?? .distantPast)
            }
            result.append(
                AccountSummary(
                    accountId: row.0, name: row.1, segment: row.2, stage: row.3, stageEnteredAt: row.4, csmId: row.5,
                    eventCount: row.6, lastEventAt: row.7, health: health, atRisk: row.13,
                    milestones: try JSONDecoder.cairn.decode([MilestoneStatus].self, from: Data(row.14.utf8)),
                    stageHistory: try JSONDecoder.cairn.decode([StageVisit].self, from: Data(row.15.utf8)),
                    tracks: try JSONDecoder.cairn.decode([ParallelTrack].self, from: Data(row.16.utf8)),
                    timeToValueDays: row.17))
        }
        return result
    }

    /// Product-usage events counted for the account, over all days.
    public func activityTotal(accountId: String, logger: Logger) async throws -> Int {
        try await scalar(
            "SELECT COALESCE(sum(events), 0)::int8 FROM account_activity WHERE account_id = \(accountId)", logger: logger)
    }

    /// Rows in the event log (each is an applied event).
    public func eventCount(logger: Logger) async throws -> Int {
        try await scalar("SELECT count(*)::int8 FROM events", logger: logger)
    }
}
