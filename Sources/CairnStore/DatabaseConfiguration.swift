import Foundation
public import PostgresNIO

/// Parses `postgres://user:password@host:port/database` into a client configuration.
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Most connections the process opens: `?pool_max_conns=N` in the URL (as pgx names it), else twice this
    /// machine's cores, at least 4 and at most 16. More connections than PostgreSQL has cores to run them makes
    /// requests wait in the kernel's scheduler instead of in the pool's queue, which is worse for the slowest ones:
    /// on 2 cores, with 8 clients asking for account pages, a pool of 8 gave p99 69-81 ms, 4 gave 53 ms and 2 gave
    /// 35 ms, at 500, 420 and 360 pages/s (BENCHMARKS.md, run H).
    public var maximumConnections: Int

    public init(url: String) throws(StoreError) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme) else {
            throw StoreError.configuration("expected postgres://user:password@host:port/database, got \(Self.redacted(url))")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError.configuration("missing host in \(Self.redacted(url))")
        }
        let database = String(components.path.dropFirst())
        guard !database.isEmpty else { throw StoreError.configuration("missing database name in \(Self.redacted(url))") }
        func parameter(_ name: String) -> String? { components.queryItems?.first { $0.name == name }?.value }
        if let mode = parameter("sslmode"), !["disable", "prefer", "allow"].contains(mode) {
            throw StoreError.configuration("sslmode=\(mode) is not supported yet; use sslmode=disable on a trusted network")
        }
        var maximumConnections = Self.defaultMaximumConnections
        if let text = parameter("pool_max_conns") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw StoreError.configuration("pool_max_conns must be a whole number from 1 to 1000, got \(text.prefix(20))")
            }
            maximumConnections = value
        }
        self.maximumConnections = maximumConnections
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

    public static var defaultMaximumConnections: Int { min(16, max(4, 2 * ProcessInfo.processInfo.activeProcessorCount)) }

    public var redactedURL: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    public var url: String {
        let password = self.password.map { ":\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
        return "postgres://\(user)\(password)@\(host):\(port)/\(database)"
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "<url>"
    }
}
