/// An error from the AMQP bridge. The code says what kind of failure it was; the message says what happened.
///
/// The message never contains credentials: URLs are reported without their password.
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable, Hashable {
        case invalidURL, unavailable, connectionLost, nacked, unroutable, closed, protocolError, declarationFailed
    }

    private let base: Base
    /// What happened, in words an operator can act on.
    public let message: String

    private init(_ base: Base, _ message: String) {
        self.base = base
        self.message = message
    }

    /// The broker URL could not be parsed.
    public static func invalidURL(_ message: String) -> AMQPError { .init(.invalidURL, message) }
    /// The broker is not reachable right now; retry later.
    public static func unavailable(_ message: String) -> AMQPError { .init(.unavailable, message) }
    /// The connection dropped while the operation was in flight; its outcome is unknown.
    public static func connectionLost(_ message: String) -> AMQPError { .init(.connectionLost, message) }
    /// The broker refused a published message (publisher confirm `basic.nack`).
    public static func nacked(_ message: String) -> AMQPError { .init(.nacked, message) }
    /// A mandatory message matched no queue.
    public static func unroutable(_ message: String) -> AMQPError { .init(.unroutable, message) }
    /// The connection was closed by its owner.
    public static func closed(_ message: String) -> AMQPError { .init(.closed, message) }
    /// The broker or the library reported a protocol-level failure.
    public static func protocolError(_ message: String) -> AMQPError { .init(.protocolError, message) }
    /// A declaration (exchange, queue, binding) was refused.
    public static func declarationFailed(_ message: String) -> AMQPError { .init(.declarationFailed, message) }

    /// True when retrying the same operation later can succeed (broker away or connection dropped).
    public var isTransient: Bool { base == .unavailable || base == .connectionLost }

    /// True when publishing the same messages again can succeed: a transient failure, or a `basic.nack`. RabbitMQ
    /// nacks a publish it never took, for example when a quorum queue cannot register a channel's first publish in
    /// time on a busy broker; the publisher's job is then to send it again (consumers deduplicate by message id).
    public var isRetryablePublish: Bool { isTransient || base == .nacked }

    public var description: String { "AMQPError(\(base)): \(message)" }

    public static func ~= (pattern: AMQPError, value: any Error) -> Bool {
        (value as? AMQPError)?.base == pattern.base
    }
}
