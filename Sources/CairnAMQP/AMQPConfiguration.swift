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

    public init(host: String, port: Int = 5672, user: String = "guest", password: String = "guest", virtualHost: String = "/") {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
    }

    /// Parses `amqp://user:password@host:port/vhost` (the vhost is percent-encoded: `%2f` is `/`).
    public init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "amqp" else {
            throw AMQPError.invalidURL("expected amqp://user:password@host:port/vhost, got \(Self.redacted(url))")
        }
        guard let host = components.host, !host.isEmpty else {
            throw AMQPError.invalidURL("missing host in \(Self.redacted(url))")
        }
        self.init(host: host, port: components.port ?? 5672)
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
    }

    /// The URL without its password, for logs and errors.
    public var redactedURL: String {
        let vhost = virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? virtualHost
        return "amqp://\(user)@\(host):\(port)/\(vhost)"
    }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "<url>"
    }
}
