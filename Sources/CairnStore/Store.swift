public import CairnCore
public import Logging
public import PostgresNIO

/// Every query Cairn runs, over one PostgresNIO client pool. Run `client` in the role's service group.
public final class Store: Sendable {
    public let client: PostgresClient
    public let configuration: DatabaseConfiguration
    /// The customer-success model the worker applies.
    public let engine: EngineConfiguration
    let logger: Logger

    public init(configuration: DatabaseConfiguration, engine: EngineConfiguration = .standard, logger: Logger) {
        self.configuration = configuration
        self.engine = engine
        self.client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
        self.logger = logger
    }
}

/// Nullable values travel in `text[]` parameters as empty strings, turned back into NULL by `NULLIF(x, '')`,
/// because PostgresNIO arrays cannot hold optionals.
extension Optional where Wrapped == String {
    var orEmpty: String { self ?? "" }
}

extension Store {
    /// True when the database answers. Used to tell "database away" (retry) from "this data is refused".
    public func isReachable(logger: Logger) async -> Bool {
        (try? await client.query("SELECT 1", logger: logger)) != nil
    }
}

extension Store {
    /// Whether PostgreSQL refused the data itself (SQLSTATE class 22, data exception, or 23, integrity constraint
    /// violation): then retrying the same rows cannot help. Anything else (database away, not migrated yet,
    /// deadlock, out of resources) may pass, so the caller retries instead of discarding data.
    public static func isDataError(_ error: any Error) -> Bool {
        if let transaction = error as? PostgresTransactionError {
            return transaction.closureError.map(isDataError) ?? false
        }
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    /// An error in words for a dead letter's reason: for data PostgreSQL refused, its message and SQLSTATE
    /// (`PSQLError`'s own description hides them, and a transaction error prints as a dump of its fields).
    public static func describe(_ error: any Error) -> String {
        if let transaction = error as? PostgresTransactionError, let inner = transaction.closureError {
            return describe(inner)
        }
        guard let psql = error as? PSQLError, let info = psql.serverInfo, let message = info[.message] else { return "\(error)" }
        let detail = info[.detail].map { "; \($0)" } ?? ""
        return "PostgreSQL refused it: \(message)\(detail) (SQLSTATE \(info[.sqlState] ?? "?"))"
    }
}
