/// A value in an AMQP argument table.
public enum AMQPArgument: Sendable, Hashable {
    case string(String)
    case int(Int64)
}

public struct AMQPExchange: Sendable, Hashable {
    public enum Kind: String, Sendable { case direct, fanout, topic }
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
    public static func quorum(_ name: String, deadLetterExchange: String? = nil, deliveryLimit: Int? = nil) -> Self {
        var arguments: [String: AMQPArgument] = ["x-queue-type": .string("quorum")]
        if let deadLetterExchange { arguments["x-dead-letter-exchange"] = .string(deadLetterExchange) }
        if let deliveryLimit { arguments["x-delivery-limit"] = .int(Int64(deliveryLimit)) }
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

/// Exchanges, queues and bindings to declare. Every declaration is durable and idempotent.
public struct AMQPTopology: Sendable, Hashable {
    public var exchanges: [AMQPExchange]
    public var queues: [AMQPQueue]
    public var bindings: [AMQPBinding]

    public init(exchanges: [AMQPExchange] = [], queues: [AMQPQueue] = [], bindings: [AMQPBinding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    public var isEmpty: Bool { exchanges.isEmpty && queues.isEmpty && bindings.isEmpty }

    public static func + (lhs: Self, rhs: Self) -> Self {
        .init(exchanges: lhs.exchanges + rhs.exchanges, queues: lhs.queues + rhs.queues, bindings: lhs.bindings + rhs.bindings)
    }
}
