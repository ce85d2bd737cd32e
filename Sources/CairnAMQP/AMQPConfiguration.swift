import Foundation

/// Where and how to connect to RabbitMQ.
public struct AMQPConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var virtualHost: String
    /// Heartbeat interval negotiated with the broker; a dead peer is noticed within about twice this.
    public var heartbeat: Duration = .seconds(30)
    /// Time allowed for TCP connect and the AMQP handshake.
    public var connectTimeout: Duration = .seconds(5)
    /// First wait before reconnecting; doubles on each failure up to `maxReconnectDelay`.
    public var minReconnectDelay: Duration = .milliseconds(100)
    public var maxReconnectDelay: Duration = .seconds(5)
    /// Name shown in the broker's connection list.
    public var connectionName: String = "cairn"
    /// The cluster's other brokers, tried in order after `host`:`port` when a connect fails or a connection drops.
    public var otherEndpoints: [AMQPEndpoint] = []

    /// Every broker this configuration may connect to, in the order tried: `host`:`port` first.
    public var endpoints: [AMQPEndpoint] { [AMQPEndpoint(host: host, port: port)] + otherEndpoints }

    /// The same settings for one of `endpoints`.
    public func at(_ endpoint: AMQPEndpoint) -> AMQPConfiguration {
        var one = self
        one.host = endpoint.host
        one.port = endpoint.port
        one.otherEndpoints = []
        return one
    }

    public init(host: String, port: Int = 5672, user: String = "guest", password: String = "guest", virtualHost: String = "/") {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
    }

    /// TLS for `amqps://` URLs; nil for plain `amqp://`.
    public var tls: AMQPTLSConfiguration?

    /// Parses `amqp://user:password@host:port/vhost` or `amqps://…` (the vhost is percent-encoded: `%2f` is `/`).
    ///
    /// Query parameters, named as in RabbitMQ's URI specification: `heartbeat` (seconds, 0 to 3600),
    /// `connection_timeout` (milliseconds), and for `amqps://` `cacertfile`, `certfile` and `keyfile` (PEM paths) and
    /// `verify` (`verify_peer`, the default, or `verify_none`). Unknown parameters are refused, so a misspelt one
    /// cannot silently turn verification off; files are checked here, so a wrong path fails at start, not on every
    /// reconnect.
    ///
    /// Several URLs separated by commas name the nodes of one cluster (`amqp://u:p@node1/v,amqp://u:p@node2/v`): a
    /// connection uses the first that answers and moves on to the next when its node goes away. They must differ only
    /// in host and port.
    public init(url: String) throws {
        let urls = Self.splitList(url)
        try self.init(singleURL: urls[0])
        for other in urls.dropFirst() {
            let node = try AMQPConfiguration(singleURL: other)
            guard node.user == user, node.password == password, node.virtualHost == virtualHost,
                node.heartbeat == heartbeat, node.connectTimeout == connectTimeout, node.tls == tls
            else {
                throw AMQPError.invalidURL(
                    "the URLs of one cluster must differ only in host and port, but \(node.redactedURL) differs from \(redactedURL)")
            }
            guard !endpoints.contains(node.endpoints[0]) else {
                throw AMQPError.invalidURL("\(node.host):\(node.port) is named twice in the URL list")
            }
            otherEndpoints.append(node.endpoints[0])
        }
    }

    /// Splits only where a comma starts another URL, so a comma inside a password (allowed unencoded in a URL's user
    /// information) stays part of it.
    private static func splitList(_ text: String) -> [String] {
        var urls: [String] = []
        var rest = Substring(text)
        while let comma = rest.indices.dropFirst().first(where: { index in
            rest[index...].hasPrefix(",amqp://") || rest[index...].hasPrefix(",amqps://")
        }) {
            urls.append(String(rest[..<comma]))
            rest = rest[rest.index(after: comma)...]
        }
        urls.append(String(rest))
        return urls
    }

    private init(singleURL url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["amqp", "amqps"].contains(scheme)
        else {
            throw AMQPError.invalidURL("expected amqp://user:password@host:port/vhost or amqps://…, got \(Self.redacted(url))")
        }
        guard let host = components.host, !host.isEmpty else {
            throw AMQPError.invalidURL("missing host in \(Self.redacted(url))")
        }
        self.init(host: host, port: components.port ?? (scheme == "amqps" ? 5671 : 5672))
        if let user = components.percentEncodedUser { self.user = user.removingPercentEncoding ?? user }
        if let password = components.percentEncodedPassword { self.password = password.removingPercentEncoding ?? password }
        let path = components.percentEncodedPath
        if path.isEmpty || path == "/" {
            self.virtualHost = "/"
        } else {
            let encoded = String(path.dropFirst())
            guard let decoded = encoded.removingPercentEncoding, !encoded.contains("/") else {
                throw AMQPError.invalidURL("bad virtual host in \(Self.redacted(url)) (encode / as %2f)")
            }
            self.virtualHost = decoded
        }
        try applyQuery(components.queryItems ?? [], tls: scheme == "amqps")
    }

    private mutating func applyQuery(_ items: [URLQueryItem], tls useTLS: Bool) throws {
        var tls = AMQPTLSConfiguration()
        var seen = Set<String>()
        for item in items {
            let value = item.value ?? ""
            guard seen.insert(item.name).inserted else { throw AMQPError.invalidURL("\(item.name) is given twice in the URL") }
            switch item.name {
            case "heartbeat":
                guard let seconds = Int(value), (0...3600).contains(seconds) else {
                    throw AMQPError.invalidURL("heartbeat must be whole seconds from 0 to 3600, got \(value.prefix(20))")
                }
                heartbeat = .seconds(seconds)
            case "connection_timeout":
                guard let milliseconds = Int(value), (1...600_000).contains(milliseconds) else {
                    throw AMQPError.invalidURL("connection_timeout must be milliseconds from 1 to 600000, got \(value.prefix(20))")
                }
                connectTimeout = .milliseconds(milliseconds)
            case "cacertfile", "certfile", "keyfile", "verify":
                guard useTLS else { throw AMQPError.invalidURL("\(item.name) needs an amqps:// URL") }
                switch item.name {
                case "cacertfile": tls.caCertificateFile = try Self.readableFile(value, for: item.name)
                case "certfile": tls.certificateFile = try Self.readableFile(value, for: item.name)
                case "keyfile": tls.keyFile = try Self.unencryptedKeyFile(value)
                default:
                    guard let verify = AMQPTLSConfiguration.Verification(rawValue: value) else {
                        throw AMQPError.invalidURL("verify must be verify_peer or verify_none, got \(value.prefix(20))")
                    }
                    tls.verification = verify
                }
            default:
                throw AMQPError.invalidURL(
                    "unknown URL parameter \(item.name.prefix(40)) (known: heartbeat, connection_timeout, cacertfile, certfile, keyfile, verify)")
            }
        }
        guard useTLS else { return }
        guard (tls.certificateFile == nil) == (tls.keyFile == nil) else {
            throw AMQPError.invalidURL("certfile and keyfile go together (the client's certificate and its private key)")
        }
        if tls.verification == .verifyPeer && tls.caCertificateFile == nil {
            throw AMQPError.invalidURL(
                "amqps:// verifies the broker's certificate: give cacertfile=PATH (the CA that signed it, PEM), or verify=verify_none")
        }
        self.tls = tls
    }

    private static func readableFile(_ path: String, for name: String) throws -> String {
        guard !path.isEmpty, FileManager.default.isReadableFile(atPath: path) else {
            throw AMQPError.invalidURL("\(name): cannot read \(path.isEmpty ? "an empty path" : path)")
        }
        return path
    }

    /// rabbitmq-c cannot take a key's passphrase (OpenSSL would ask for it on the terminal): refuse encrypted keys.
    private static func unencryptedKeyFile(_ path: String) throws -> String {
        let path = try readableFile(path, for: "keyfile")
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard text.contains("PRIVATE KEY-----") else {
            throw AMQPError.invalidURL("keyfile: \(path) holds no PEM private key")
        }
        guard !text.contains("BEGIN ENCRYPTED PRIVATE KEY"), !text.contains("Proc-Type: 4,ENCRYPTED") else {
            throw AMQPError.invalidURL("keyfile: \(path) is protected by a passphrase, which rabbitmq-c cannot take; decrypt it")
        }
        return path
    }

    /// The URL without its password, for logs and errors.
    public var redactedURL: String {
        let vhost = virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? virtualHost
        return "\(tls == nil ? "amqp" : "amqps")://\(user)@\(host):\(port)/\(vhost)"
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "<url>"
    }
}

/// One broker of a cluster.
public struct AMQPEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// How an `amqps://` connection authenticates the broker, and itself.
public struct AMQPTLSConfiguration: Sendable, Equatable {
    public enum Verification: String, Sendable {
        /// The broker's certificate must chain to `caCertificateFile` and name the host connected to.
        case verifyPeer = "verify_peer"
        /// Encrypt without checking who answers (test set-ups only: anyone on the path can pretend to be the broker).
        case verifyNone = "verify_none"
    }

    /// PEM file of the CA (or CAs) that may sign the broker's certificate.
    public var caCertificateFile: String?
    /// The client's certificate chain (PEM), for brokers that ask for one; with `keyFile`.
    public var certificateFile: String?
    /// The client certificate's private key (PEM, unencrypted).
    public var keyFile: String?
    public var verification: Verification = .verifyPeer

    public init() {}
}
