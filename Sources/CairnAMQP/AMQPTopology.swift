/// A value in an AMQP argument table.
public enum AMQPArgument: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case bool(Bool)
}

public struct AMQPExchange: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case direct, fanout, topic
        /// Routes each message to one bound queue, chosen by a hash of its routing key, so one key always lands on the
        /// same queue (plugin `rabbitmq_consistent_hash_exchange`, shipped with RabbitMQ). A binding's routing key is
        /// the queue's weight: its number of points on the hash ring.
        case consistentHash = "x-consistent-hash"
    }
    public var name: String
    public var kind: Kind
    public init(_ name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

public struct AMQPQueue: Sendable, Hashable {
    public var name: String
    public var arguments: [String: AMQPArgument]
    public init(_ name: String, arguments: [String: AMQPArgument] = [:]) {
        self.name = name
        self.arguments = arguments
    }

    /// A durable quorum queue; messages refused or redelivered `deliveryLimit` times go to `deadLetterExchange`.
    /// With `singleActiveConsumer`, the broker delivers to one consumer at a time, in queue order; the others wait
    /// and the next takes over when it goes.
    public static func quorum(
        _ name: String, deadLetterExchange: String? = nil, deliveryLimit: Int? = nil, singleActiveConsumer: Bool = false
    ) -> Self {
        var arguments: [String: AMQPArgument] = ["x-queue-type": .string("quorum")]
        if let deadLetterExchange { arguments["x-dead-letter-exchange"] = .string(deadLetterExchange) }
        if let deliveryLimit { arguments["x-delivery-limit"] = .int(Int64(deliveryLimit)) }
        if singleActiveConsumer { arguments["x-single-active-consumer"] = .bool(true) }
        return .init(name, arguments: arguments)
    }
}

public struct AMQPBinding: Sendable, Hashable {
    public var queue: String
    public var exchange: String
    public var routingKey: String
    public init(queue: String, exchange: String, routingKey: String) {
        self.queue = queue
        self.exchange = exchange
        self.routingKey = routingKey
    }
}

/// An exchange bound to another: what reaches `source` with a matching key goes on through `destination` too.
public struct AMQPExchangeBinding: Sendable, Hashable {
    public var destination: String
    public var source: String
    public var routingKey: String
    public init(destination: String, source: String, routingKey: String) {
        self.destination = destination
        self.source = source
        self.routingKey = routingKey
    }
}

/// Exchanges, queues and bindings to declare. Every declaration is durable and idempotent.
public struct AMQPTopology: Sendable, Hashable {
    public var exchanges: [AMQPExchange]
    public var queues: [AMQPQueue]
    public var bindings: [AMQPBinding]
    public var exchangeBindings: [AMQPExchangeBinding]

    public init(
        exchanges: [AMQPExchange] = [], queues: [AMQPQueue] = [], bindings: [AMQPBinding] = [],
        exchangeBindings: [AMQPExchangeBinding] = []
    ) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
        self.exchangeBindings = exchangeBindings
    }

    public var isEmpty: Bool { exchanges.isEmpty && queues.isEmpty && bindings.isEmpty && exchangeBindings.isEmpty }

    public static func + (lhs: Self, rhs: Self) -> Self {
        .init(
            exchanges: lhs.exchanges + rhs.exchanges, queues: lhs.queues + rhs.queues, bindings: lhs.bindings + rhs.bindings,
            exchangeBindings: lhs.exchangeBindings + rhs.exchangeBindings)
    }
}
