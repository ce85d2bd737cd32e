public import Logging
public import PostgresNIO

/// Every query Cairn runs, over one PostgresNIO client pool. Run `client` in the role's service group.
public final class Store: Sendable {
    public let client: PostgresClient
    public let configuration: DatabaseConfiguration
    let logger: Logger

    public init(configuration: DatabaseConfiguration, logger: Logger) {
        self.configuration = configuration
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
