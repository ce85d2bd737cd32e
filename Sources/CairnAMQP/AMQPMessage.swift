/// A message to publish. Persistent JSON by default, as the contract asks.
public struct AMQPMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var messageID: String?
    public var contentType: String = "application/json"
    public var persistent: Bool = true
    /// String-valued headers (for example `x-cairn-error` on a dead letter).
    public var headers: [String: String] = [:]
    /// When true, a message that no queue accepts fails with `AMQPError.unroutable` instead of vanishing.
    public var mandatory: Bool = false

    public init(exchange: String, routingKey: String, body: [UInt8], messageID: String? = nil) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.messageID = messageID
    }
}

/// Identifies a delivery on one connection: the connection's generation, the channel it came on (each consumer has
/// its own) and the broker's tag, which counts per channel. Tags from before a reconnect are stale: acking them is a
/// no-op, and the broker redelivers those messages.
public struct AMQPDeliveryTag: Sendable, Hashable, Comparable {
    let generation: UInt64
    let channel: UInt16
    let value: UInt64

    init(generation: UInt64, channel: UInt16 = 1, value: UInt64) {
        self.generation = generation
        self.channel = channel
        self.value = value
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.generation, lhs.channel, lhs.value) < (rhs.generation, rhs.channel, rhs.value)
    }
}

/// A message received from a queue.
public struct AMQPDelivery: Sendable {
    public let tag: AMQPDeliveryTag
    public let exchange: String
    public let routingKey: String
    public let redelivered: Bool
    public let messageID: String?
    public let contentType: String?
    /// Headers whose values are strings or integers, as text. Other kinds are left out.
    public let headers: [String: String]
    public let body: [UInt8]
}

/// A message taken with `AMQPConnection.get(queue:)`, and how many ready messages were left behind it.
public struct AMQPGetResult: Sendable {
    public let delivery: AMQPDelivery
    /// Ready messages still in the queue after this one (the broker's count at the time of the get).
    public let remaining: Int
}
