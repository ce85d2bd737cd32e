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

/// An account in the list: the summary, the list's keys, and where it stands in the order.
public struct AccountListItem: Sendable, Hashable {
    public var summary: AccountSummary
    public var arr: Double?
    public var renewalDate: Date?
    public var contractSignedAt: Date?
    public var lastChangeAt: Date?
    public var position: AccountListPosition
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
    ) async throws -> [AccountListItem] {
        var builder = QueryBuilder()
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
        builder.sql = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        builder.sql += sort == .accountId
            ? " ORDER BY a.account_id \(direction)"
            : " ORDER BY \(sort.expression) \(direction), a.account_id \(direction)"
        builder.sql += " LIMIT \(try builder.bind(limit))"
        let summaries = try await accounts(where: builder.query, logger: logger)
        guard !summaries.isEmpty else { return [] }

        let ids = summaries.map(\.accountId)
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT a.account_id, (\(sort.expression))::text, a.arr, a.renewal_at, a.contract_at, a.changed_at
                    FROM accounts a WHERE a.account_id = ANY($1)
                    """, binds: { var binds = PostgresBindings(); binds.append(ids); return binds }()),
            logger: logger)
        var keys: [String: (String, Double?, Date?, Date?, Date?)] = [:]
        for try await row in rows.decode((String, String, Double?, Date?, Date?, Date?).self) {
            keys[row.0] = (row.1, row.2, row.3, row.4, row.5)
        }
        return summaries.map { summary in
            let extra = keys[summary.accountId]
            return AccountListItem(
                summary: summary, arr: extra?.1, renewalDate: extra?.2, contractSignedAt: extra?.3, lastChangeAt: extra?.4,
                position: AccountListPosition(key: extra?.0 ?? summary.accountId, accountId: summary.accountId))
        }
    }
}
