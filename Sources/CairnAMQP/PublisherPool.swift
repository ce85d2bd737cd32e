import Synchronization

/// A small, fixed set of publishing connections shared by every request of a process: each `publish` goes to the
/// next connected one in turn, so concurrent requests spread over several connection threads while each
/// connection still confirms many requests' messages in one round.
public final class PublisherPool: Sendable {
    public let connections: [AMQPConnection]
    private let next = Atomic<Int>(0)

    public init(_ connections: [AMQPConnection]) {
        precondition(!connections.isEmpty, "a publisher pool needs at least one connection")
        self.connections = connections
    }

    /// True while at least one connection is up.
    public var isConnected: Bool { connections.contains { $0.isConnected } }

    /// Publishes on the next connected connection (or the next one at all while none is, to get its error) and
    /// returns once the broker confirmed every message.
    public func publish(_ messages: [AMQPMessage]) async throws {
        let start = next.add(1, ordering: .relaxed).oldValue
        let count = connections.count
        let order = (0..<count).map { connections[(start &+ $0) % count] }
        try await (order.first { $0.isConnected } ?? order[0]).publish(messages)
    }
}
