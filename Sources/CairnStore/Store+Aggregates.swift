import CairnCore
public import Foundation
public import Logging
import PostgresNIO

/// One stage of a segment's funnel.
public struct FunnelStage: Sendable, Hashable, Codable {
    public var stage: String
    /// Accounts in the stage now.
    public var accounts: Int
    /// Accounts that got this far on the main path (this stage or a later one, per stage history): accounts may
    /// skip stages, so this is what a funnel counts.
    public var reached: Int
    /// Of those that reached this stage, the share that reached the next one (or went beyond it).
    public var conversionToNext: Double?
    /// Median days spent in the stage by visits that ended.
    public var medianDaysInStage: Double?
}

/// The funnel of one segment (`unassigned` for accounts without one).
public struct FunnelSegment: Sendable, Hashable, Codable {
    public var segment: String
    public var accounts: Int
    public var stages: [FunnelStage]
}

/// Accounts per band, with the average score.
public struct BandCounts: Sendable, Hashable, Codable {
    public var segment: String?
    public var accounts: Int
    public var green: Int
    public var yellow: Int
    public var red: Int
    public var averageScore: Double?
}

/// One day of the health trend.
public struct HealthTrendDay: Sendable, Hashable, Codable {
    public var day: String
    public var accounts: Int
    public var averageScore: Double
    public var green: Int
    public var yellow: Int
    public var red: Int
}

/// A band change, for the "recent band changes" list.
public struct BandChange: Sendable, Hashable, Codable {
    public var accountId: String
    public var name: String?
    public var segment: String?
    public var from: String
    public var to: String
    public var score: Int
    public var at: Date
}

/// The accounts that signed in one month and how their first-90-day milestones went.
public struct Cohort: Sendable, Hashable, Codable {
    public struct Milestone: Sendable, Hashable, Codable {
        public var name: String
        public var pending: Int
        public var reached: Int
        public var reachedLate: Int
        public var missed: Int
    }

    /// `YYYY-MM` of the contract signing.
    public var month: String
    public var accounts: Int
    public var medianTimeToValueDays: Double?
    public var milestones: [Milestone]
}

extension Store {
    /// The main path of the journey, in order: the funnel's stages.
    static let funnelStages: [JourneyStage] = JourneyStage.allCases.filter { $0 != .atRisk && $0 != .churned }
        .sorted { $0.rank < $1.rank }

    /// Accounts per stage, conversion and median days in stage, per segment (or only `segment`).
    public func funnel(segment: String?, logger: Logger) async throws -> [FunnelSegment] {
        let unassigned = "unassigned"
        var current: [String: [String: Int]] = [:]
        for try await row in try await client.query(
            """
            SELECT COALESCE(segment, \(unassigned)), stage, count(*)::int8 FROM accounts
            WHERE \(segment == nil) OR segment = \(segment ?? "") GROUP BY 1, 2
            """, logger: logger
        ).decode((String, String, Int).self) {
            current[row.0, default: [:]][row.1] = row.2
        }
        var reached: [String: [String: (Int, Double?)]] = [:]
        for try await row in try await client.query(
            """
            SELECT COALESCE(a.segment, \(unassigned)), v.stage, (count(*) FILTER (WHERE v.first_visit))::int8,
                   (percentile_cont(0.5) WITHIN GROUP (ORDER BY v.days_in_stage))::float8
            FROM stage_visits v JOIN accounts a ON a.account_id = v.account_id
            WHERE \(segment == nil) OR a.segment = \(segment ?? "") GROUP BY 1, 2
            """, logger: logger
        ).decode((String, String, Int, Double?).self) {
            reached[row.0, default: [:]][row.1] = (row.2, row.3)
        }
        // How far along the main path each account got, from its stage history.
        var furthest: [String: [Int: Int]] = [:]
        let path = Self.funnelStages.map(\.rawValue)
        for try await row in try await client.query(
            """
            SELECT segment, furthest, count(*)::int8 FROM (
                SELECT COALESCE(a.segment, \(unassigned)) segment, max(array_position(\(path), v.stage)) furthest
                FROM stage_visits v JOIN accounts a ON a.account_id = v.account_id
                WHERE \(segment == nil) OR a.segment = \(segment ?? "")
                GROUP BY a.account_id, a.segment
            ) x WHERE furthest IS NOT NULL GROUP BY 1, 2
            """, logger: logger
        ).decode((String, Int, Int).self) {
            furthest[row.0, default: [:]][row.1 - 1] = row.2
        }
        return Set(current.keys).union(reached.keys).sorted().map { name in
            let now = current[name] ?? [:]
            let ever = reached[name] ?? [:]
            let far = furthest[name] ?? [:]
            func reachedAtLeast(_ index: Int) -> Int { far.filter { $0.key >= index }.values.reduce(0, +) }
            let stages = Self.funnelStages.enumerated().map { index, stage in
                let count = reachedAtLeast(index)
                let next = index + 1 < Self.funnelStages.count ? reachedAtLeast(index + 1) : nil
                return FunnelStage(
                    stage: stage.rawValue, accounts: now[stage.rawValue] ?? 0, reached: count,
                    conversionToNext: next.flatMap { count > 0 ? Double($0) / Double(count) : nil },
                    medianDaysInStage: ever[stage.rawValue]?.1)
            }
            let beside = [JourneyStage.atRisk, .churned].map {
                FunnelStage(
                    stage: $0.rawValue, accounts: now[$0.rawValue] ?? 0, reached: ever[$0.rawValue]?.0 ?? 0,
                    conversionToNext: nil, medianDaysInStage: ever[$0.rawValue]?.1)
            }
            return FunnelSegment(segment: name, accounts: now.values.reduce(0, +), stages: stages + beside)
        }
    }

    /// Accounts per band: all of them, and per segment.
    public func healthDistribution(logger: Logger) async throws -> (total: BandCounts, segments: [BandCounts], histogram: [Int]) {
        var segments: [String: BandCounts] = [:]
        for try await row in try await client.query(
            """
            SELECT COALESCE(segment, 'unassigned'), count(*)::int8,
                   count(*) FILTER (WHERE band = 'green')::int8, count(*) FILTER (WHERE band = 'yellow')::int8,
                   count(*) FILTER (WHERE band = 'red')::int8, avg(score)::float8
            FROM accounts WHERE band IS NOT NULL GROUP BY 1 ORDER BY 1
            """, logger: logger
        ).decode((String, Int, Int, Int, Int, Double?).self) {
            segments[row.0] = BandCounts(
                segment: row.0, accounts: row.1, green: row.2, yellow: row.3, red: row.4, averageScore: row.5)
        }
        var histogram = Array(repeating: 0, count: 10)
        for try await (bucket, count) in try await client.query(
            "SELECT LEAST(GREATEST(score, 0) / 10, 9)::int8, count(*)::int8 FROM accounts WHERE score IS NOT NULL GROUP BY 1",
            logger: logger
        ).decode((Int, Int).self) {
            histogram[bucket] = count
        }
        let list = segments.values.sorted { ($0.segment ?? "") < ($1.segment ?? "") }
        let accounts = list.reduce(0) { $0 + $1.accounts }
        let average = accounts == 0 ? nil : list.reduce(0.0) { $0 + ($1.averageScore ?? 0) * Double($1.accounts) } / Double(accounts)
        let total = BandCounts(
            segment: nil, accounts: accounts, green: list.reduce(0) { $0 + $1.green }, yellow: list.reduce(0) { $0 + $1.yellow },
            red: list.reduce(0) { $0 + $1.red }, averageScore: average)
        return (total, list, histogram)
    }

    /// Scores recorded per day over the last `days` days of history (up to the latest day recorded).
    public func healthTrend(days: Int, segment: String?, logger: Logger) async throws -> [HealthTrendDay] {
        let rows = try await client.query(
            """
            SELECT h.day::text, count(*)::int8, avg(h.score)::float8, count(*) FILTER (WHERE h.band = 'green')::int8,
                   count(*) FILTER (WHERE h.band = 'yellow')::int8, count(*) FILTER (WHERE h.band = 'red')::int8
            FROM health_history h
            WHERE h.day > (SELECT max(day) FROM health_history) - CAST(\(days) AS int4)
              AND (\(segment == nil) OR h.account_id IN (SELECT account_id FROM accounts WHERE segment = \(segment ?? "")))
            GROUP BY h.day ORDER BY h.day
            """, logger: logger)
        var trend: [HealthTrendDay] = []
        for try await row in rows.decode((String, Int, Double, Int, Int, Int).self) {
            trend.append(HealthTrendDay(day: row.0, accounts: row.1, averageScore: row.2, green: row.3, yellow: row.4, red: row.5))
        }
        return trend
    }

    /// Band changes, newest first, before `position` (time and account id of the last one shown).
    public func bandChanges(before position: TimePosition?, limit: Int, logger: Logger) async throws -> [(BandChange, TimePosition)] {
        let time = position?.time ?? "infinity"
        let id = position?.id ?? ""
        let rows = try await client.query(
            """
            SELECT h.account_id, a.name, a.segment, h.previous_band, h.band, h.score, h.band_changed_at, h.band_changed_at::text AS position
            FROM health h JOIN accounts a ON a.account_id = h.account_id
            WHERE h.previous_band IS NOT NULL AND (h.band_changed_at, h.account_id) < (\(time)::timestamptz, \(id))
            ORDER BY h.band_changed_at DESC, h.account_id DESC
            LIMIT \(limit)
            """, logger: logger)
        var changes: [(BandChange, TimePosition)] = []
        for try await row in rows.decode((String, String?, String?, String, String, Int, Date, String).self) {
            changes.append(
                (BandChange(accountId: row.0, name: row.1, segment: row.2, from: row.3, to: row.4, score: row.5, at: row.6),
                 TimePosition(time: row.7, id: row.0)))
        }
        return changes
    }

    /// Accounts by contract month (the latest `months` months with signings): milestones due in the first 90 days by
    /// status, and the median time to value.
    public func cohorts(months: Int, segment: String?, logger: Logger) async throws -> [Cohort] {
        var cohorts: [String: Cohort] = [:]
        for try await row in try await client.query(
            """
            SELECT to_char(date_trunc('month', a.contract_at AT TIME ZONE 'UTC'), 'YYYY-MM') m, count(*)::int8,
                   (percentile_cont(0.5) WITHIN GROUP (ORDER BY j.time_to_value_days))::float8
            FROM accounts a LEFT JOIN journey j ON j.account_id = a.account_id
            WHERE a.contract_at IS NOT NULL AND (\(segment == nil) OR a.segment = \(segment ?? ""))
            GROUP BY 1 ORDER BY 1 DESC LIMIT \(months)
            """, logger: logger
        ).decode((String, Int, Double?).self) {
            cohorts[row.0] = Cohort(month: row.0, accounts: row.1, medianTimeToValueDays: row.2, milestones: [])
        }
        guard let oldest = cohorts.keys.min() else { return [] }
        var milestones: [String: [String: Cohort.Milestone]] = [:]
        for try await row in try await client.query(
            """
            SELECT to_char(date_trunc('month', a.contract_at AT TIME ZONE 'UTC'), 'YYYY-MM') m, x.name, x.status, count(*)::int8
            FROM accounts a JOIN journey j ON j.account_id = a.account_id,
                 jsonb_to_recordset(j.milestones) AS x(name text, status text, "dueAt" text)
            WHERE a.contract_at >= to_date(\(oldest), 'YYYY-MM') AND (\(segment == nil) OR a.segment = \(segment ?? ""))
              AND x."dueAt"::timestamptz <= a.contract_at + interval '90 days'
            GROUP BY 1, 2, 3
            """, logger: logger
        ).decode((String, String, String, Int).self) {
            guard cohorts[row.0] != nil else { continue }
            var milestone = milestones[row.0]?[row.1] ?? Cohort.Milestone(name: row.1, pending: 0, reached: 0, reachedLate: 0, missed: 0)
            switch row.2 {
            case "reached": milestone.reached += row.3
            case "reached_late": milestone.reachedLate += row.3
            case "missed": milestone.missed += row.3
            default: milestone.pending += row.3
            }
            milestones[row.0, default: [:]][row.1] = milestone
        }
        return cohorts.values.sorted { $0.month > $1.month }.map { cohort in
            var cohort = cohort
            cohort.milestones = (milestones[cohort.month] ?? [:]).values.sorted { $0.name < $1.name }
            return cohort
        }
    }
}
