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
    /// `?sslmode=` as libpq names it; without it, `disable` (Cairn encrypts only when asked to).
    public var sslMode: SSLMode
    /// `?sslrootcert=PATH`: the CA (PEM) that signs the server's certificate; without it, the system's trust roots.
    public var sslRootCertificate: String?
    /// PostgreSQL's `idle_in_transaction_session_timeout` for every session of the pool: a transaction that sits
    /// idle this long (its process frozen, starved or cut off between two statements) is ended by the server,
    /// which frees its row locks for the other workers instead of holding them until the process comes back.
    /// nil leaves the server's setting (the roles set it from `CAIRN_IDLE_TRANSACTION_TIMEOUT`).
    public var idleInTransactionTimeout: Duration?
    /// `application_name` of every session, as `pg_stat_activity` shows it.
    public var applicationName: String?

    /// libpq's modes. postgres-nio has no "plain first, TLS if the server insists", so `allow` behaves as `prefer`
    /// (TLS when the server offers it); neither checks the certificate, as in libpq. `require` encrypts without
    /// checking who answers, unless `sslrootcert` is given (then, as in libpq, it is `verify-ca`).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        /// The server's certificate must chain to a trusted root.
        case verifyCA = "verify-ca"
        /// As `verify-ca`, and the certificate must name the host connected to.
        case verifyFull = "verify-full"
    }

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
        let modeText = parameter("sslmode") ?? SSLMode.disable.rawValue
        guard let sslMode = SSLMode(rawValue: modeText) else {
            throw StoreError.configuration(
                "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")), got \(modeText.prefix(20))")
        }
        self.sslMode = sslMode
        if let path = parameter("sslrootcert") {
            guard [.require, .verifyCA, .verifyFull].contains(sslMode) else {
                throw StoreError.configuration("sslrootcert needs sslmode=verify-full, verify-ca or require, not \(sslMode.rawValue)")
            }
            guard !path.isEmpty, FileManager.default.isReadableFile(atPath: path) else {
                throw StoreError.configuration("sslrootcert: cannot read \(path.isEmpty ? "an empty path" : path)")
            }
            sslRootCertificate = path
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

    public var redactedURL: String { "postgres://\(user)@\(host):\(port)/\(database)\(tlsQuery)" }

    public var url: String {
        let password = self.password.map { ":\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
        return "postgres://\(user)\(password)@\(host):\(port)/\(database)\(tlsQuery)"
    }

    private var tlsQuery: String {
        guard sslMode != .disable else { return "" }
        let root = sslRootCertificate.map {
            "&sslrootcert=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(.init(charactersIn: "&=+"))) ?? $0)"
        }
        return "?sslmode=\(sslMode.rawValue)\(root ?? "")"
    }

    /// What TLS `sslMode` asks for: nil for none, else the client's TLS settings and whether plain is refused.
    private var tlsSettings: (configuration: TLSConfiguration, required: Bool)? {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let sslRootCertificate { tls.trustRoots = .file(sslRootCertificate) }
        switch sslMode {
        case .disable:
            return nil
        case .allow, .prefer:
            tls.certificateVerification = .none
            return (tls, false)
        case .require:
            tls.certificateVerification = sslRootCertificate == nil ? .none : .noHostnameVerification
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        return (tls, true)
    }

    /// postgres-nio's TLS setting for `sslMode`.
    public var tls: PostgresClient.Configuration.TLS {
        guard let (configuration, required) = tlsSettings else { return .disable }
        return required ? .require(configuration) : .prefer(configuration)
    }

    /// Opens one connection with these settings. The pool retries a connection that fails; this answers at once
    /// with the server's (or the TLS handshake's) error, for checks that must see it.
    public func connect(logger: Logger) async throws -> PostgresConnection {
        var connectionTLS = PostgresConnection.Configuration.TLS.disable
        if let (configuration, required) = tlsSettings {
            let context = try NIOSSLContext(configuration: configuration)
            connectionTLS = required ? .require(context) : .prefer(context)
        }
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: connectionTLS)
        return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = maximumConnections
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    /// Run-time parameters sent in each session's startup message (PostgreSQL applies them as `SET` would).
    var startupParameters: [(String, String)] {
        var parameters: [(String, String)] = []
        if let idleInTransactionTimeout {
            parameters.append(("idle_in_transaction_session_timeout", "\(idleInTransactionTimeout / .milliseconds(1))"))
        }
        if let applicationName { parameters.append(("application_name", applicationName)) }
        return parameters
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "<url>"
    }
}
