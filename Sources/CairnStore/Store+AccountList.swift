public import CairnCore
public import Foundation
public import Logging
import PostgresNIO

/// How the account list is ordered; the account id breaks ties, so every order is total and pages are stable.
public enum AccountSort: String, Sendable, Hashable, CaseIterable {
    case accountId = "id"
    case score, arr, renewal, changed

    /// The SQL expression sorted on: the same expression as the migration's index, NULLs mapped to a sentinel.
    var expression: String {
        switch self {
        case .accountId: "a.account_id"
        case .score: "COALESCE(a.score, -1)"
        case .arr: "COALESCE(a.arr, -1)"
        case .renewal: "COALESCE(a.renewal_at, '9999-12-31T00:00:00Z')"
        case .changed: "COALESCE(a.changed_at, '0001-01-01T00:00:00Z')"
        }
    }

    /// The type a cursor's key (text) is cast back to.
    var keyType: String {
        switch self {
        case .accountId: "text"
        case .score: "int4"
        case .arr: "float8"
        case .renewal, .changed: "timestamptz"
        }
    }
}

/// Which accounts to list. `nil` means no condition.
public struct AccountFilter: Sendable, Hashable {
    public var segment: String?
    public var stage: JourneyStage?
    public var band: HealthBand?
    public var csmId: String?
    public var atRisk: Bool?
    /// Renewal dates in `[renewalFrom, renewalTo)`.
    public var renewalFrom: Date?
    public var renewalTo: Date?

    public init() {}
}

/// A position in the account list: the sort key of the last row (as PostgreSQL prints it) and its id.
public struct AccountListPosition: Sendable, Hashable, Codable {
    public var key: String
    public var accountId: String

    public init(key: String, accountId: String) {
        self.key = key
        self.accountId = accountId
    }
}

/// A row as JSON text that PostgreSQL wrote (the API sends it as it is), and where it stands in its list's order.
public struct JSONRow<Position: Sendable & Hashable & Codable>: Sendable, Hashable {
    public var json: String
    public var position: Position
}

/// An account in the list: a JSON object of the summary's fields (CONTRACT.md, absent when null) and the list's
/// keys (`arr`, `renewalDate`, `contractSignedAt`, `lastChangeAt`, null when unknown).
public typealias AccountListRow = JSONRow<AccountListPosition>

/// Pieces of account JSON that PostgreSQL writes (the account detail, in one statement) over
/// `accounts a LEFT JOIN journey j LEFT JOIN health h`. The shape is `AccountSummary`'s `Codable` form; an API test
/// checks the two are equal for every account of a pipeline run.
enum AccountJSON {
    /// `timestamptz` as `Timestamp.format` writes a date: UTC, milliseconds truncated, `Z`.
    static func timestamp(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    /// Whether the account has a health (`healthObject` is its JSON then).
    static let healthKnown = "h.score IS NOT NULL AND h.band IS NOT NULL"

    static let healthObject = """
        jsonb_build_object(
            'score', h.score, 'band', h.band, 'components', COALESCE(h.components, '[]'),
            'explanation', COALESCE(h.explanation, ''),
            'updatedAt', \(timestamp("COALESCE(h.updated_at, '0001-01-01T00:00:00Z')")))
        """

    /// The journey's stored JSON, as `jsonb_build_object` arguments.
    static let journey = """
        'milestones', COALESCE(j.milestones, '[]'), 'stageHistory', COALESCE(j.stage_history, '[]'),
        'tracks', COALESCE(j.tracks, '[]')
        """
}

/// An account of the list, as columns that Swift splices into JSON text: the stored JSON (milestones, history,
/// tracks, health components) is PostgreSQL's text of the `jsonb` and is not parsed. PostgreSQL building the
/// object itself (`jsonb_build_object`, `||`, `jsonb_strip_nulls`) cost about 3.5 times as much per row as
/// reading the columns (EXPLAIN ANALYZE of a 5,000-row page, 100k accounts), and the list's CPU is shared with the
/// API on the same machine.
enum AccountListColumns {
    /// After the id and the sort key.
    static let select = """
        a.name, a.segment, COALESCE(j.stage, 'awareness'), j.stage_entered_at, a.csm_id, a.event_count, a.last_event_at,
        a.at_risk, j.time_to_value_days, COALESCE(j.milestones, '[]')::text, COALESCE(j.stage_history, '[]')::text,
        COALESCE(j.tracks, '[]')::text, h.score, h.band, h.components::text, h.explanation, h.updated_at,
        a.arr, a.renewal_at, a.contract_at, a.changed_at
        """

    /// The summary's fields (absent when null; the stored JSON always present), then the list's keys (null when
    /// unknown). `row` holds the id and sort key in cells 0 and 1, then `select`'s columns.
    static func json(_ row: PostgresRandomAccessRow) throws -> String {
        var object = JSONObjectWriter(capacity: 2048)
        object.field("accountId", try row[0].decode(String.self))
        object.field("name", try row[2].decode(String?.self))
        object.field("segment", try row[3].decode(String?.self))
        object.field("stage", try row[4].decode(String.self))
        object.field("stageEnteredAt", date: try row[5].decode(Date?.self))
        object.field("csmId", try row[6].decode(String?.self))
        object.field("eventCount", try row[7].decode(Int64.self))
        object.field("lastEventAt", date: try row[8].decode(Date?.self))
        object.field("atRisk", try row[9].decode(Bool.self))
        object.field("timeToValueDays", try row[10].decode(Double?.self))
        object.field("milestones", json: try row[11].decode(String.self))
        object.field("stageHistory", json: try row[12].decode(String.self))
        object.field("tracks", json: try row[13].decode(String.self))
        if let score = try row[14].decode(Int32?.self), let band = try row[15].decode(String?.self) {
            var health = JSONObjectWriter()
            health.field("score", Int64(score))
            health.field("band", band)
            // NOT NULL columns of a health row, which exists when score and band are there.
            health.field("components", json: try row[16].decode(String.self))
            health.field("explanation", try row[17].decode(String.self))
            health.field("updatedAt", date: try row[18].decode(Date.self))
            object.field("health", json: health.text)
        }
        object.field("arr", try row[19].decode(Double?.self), missing: .null)
        object.field("renewalDate", date: try row[20].decode(Date?.self), missing: .null)
        object.field("contractSignedAt", date: try row[21].decode(Date?.self), missing: .null)
        object.field("lastChangeAt", date: try row[22].decode(Date?.self), missing: .null)
        return object.text
    }
}

/// Builds a query with bound parameters piece by piece (filters that may or may not apply).
struct QueryBuilder {
    var sql = ""
    var binds = PostgresBindings()

    /// Binds `value` and returns its placeholder.
    mutating func bind(_ value: some PostgresThrowingDynamicTypeEncodable) throws -> String {
        try binds.append(value)
        return "$\(binds.count)"
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}

extension Store {
    /// One page of accounts matching `filter`, in `sort` order, after `position` (the last row of the previous page).
    public func accounts(
        matching filter: AccountFilter, sort: AccountSort, descending: Bool, after position: AccountListPosition?, limit: Int,
        logger: Logger
    ) async throws -> [AccountListRow] {
        var builder = QueryBuilder()
        builder.sql = """
            SELECT a.account_id, (\(sort.expression))::text, \(AccountListColumns.select)
            FROM accounts a
            LEFT JOIN journey j ON j.account_id = a.account_id
            LEFT JOIN health h ON h.account_id = a.account_id

            """
        var conditions: [String] = []
        if let segment = filter.segment { conditions.append("a.segment = \(try builder.bind(segment))") }
        if let stage = filter.stage { conditions.append("a.stage = \(try builder.bind(stage.rawValue))") }
        if let band = filter.band { conditions.append("a.band = \(try builder.bind(band.rawValue))") }
        if let csm = filter.csmId { conditions.append("a.csm_id = \(try builder.bind(csm))") }
        if let atRisk = filter.atRisk { conditions.append("a.at_risk = \(try builder.bind(atRisk))") }
        // The window is stated on the column and again on the renewal sort's expression, so the renewal index
        // (on that expression) reads only the window instead of every account renewing before it.
        let renewalKey = AccountSort.renewal.expression
        if let from = filter.renewalFrom {
            let bound = try builder.bind(from)
            conditions.append("a.renewal_at >= \(bound) AND \(renewalKey) >= \(bound)")
        }
        if let to = filter.renewalTo {
            let bound = try builder.bind(to)
            conditions.append("a.renewal_at < \(bound) AND \(renewalKey) < \(bound)")
        }
        let direction = descending ? "DESC" : "ASC"
        if let position {
            let key = try builder.bind(position.key)
            let id = try builder.bind(position.accountId)
            let comparison = descending ? "<" : ">"
            if sort == .accountId {
                conditions.append("a.account_id \(comparison) \(id)")
            } else {
                conditions.append("(\(sort.expression), a.account_id) \(comparison) (\(key)::\(sort.keyType), \(id))")
            }
        }
        if !conditions.isEmpty { builder.sql += "WHERE " + conditions.joined(separator: " AND ") }
        builder.sql += sort == .accountId
            ? " ORDER BY a.account_id \(direction)"
            : " ORDER BY \(sort.expression) \(direction), a.account_id \(direction)"
        builder.sql += " LIMIT \(try builder.bind(limit))"
        var result: [AccountListRow] = []
        for try await row in try await client.query(builder.query, logger: logger) {
            let cells = row.makeRandomAccess()
            let position = AccountListPosition(key: try cells[1].decode(String.self), accountId: try cells[0].decode(String.self))
            result.append(AccountListRow(json: try AccountListColumns.json(cells), position: position))
        }
        return result
    }
}
