import Foundation
public import PostgresNIO

/// Parses `postgres://user:password@host:port/database` into a client configuration.
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    public init(url: String) throws(StoreError) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme) else {
            throw StoreError.configuration("expected postgres://user:password@host:port/database, got \(Self.redacted(url))")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError.configuration("missing host in \(Self.redacted(url))")
        }
        let database = String(components.path.dropFirst())
        guard !database.isEmpty else { throw StoreError.configuration("missing database name in \(Self.redacted(url))") }
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value, !["disable", "prefer", "allow"].contains(mode) {
            throw StoreError.configuration("sslmode=\(mode) is not supported yet; use sslmode=disable on a trusted network")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = components.user?.removingPercentEncoding ?? components.user ?? "postgres"
        self.password = components.password?.removingPercentEncoding ?? components.password
        self.database = database
    }

    /// The same URL with another database name (tests create one database each).
    public func with(database: String) -> DatabaseConfiguration {
        var copy = self
        copy.database = database
        return copy
    }

    public var redactedURL: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    public var url: String {
        let password = self.password.map { ":\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
        return "postgres://\(user)\(password)@\(host):\(port)/\(database)"
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 8
        return configuration
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "<url>"
    }
}
