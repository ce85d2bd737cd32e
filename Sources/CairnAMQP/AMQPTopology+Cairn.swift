/// The names and topology of Cairn's AMQP contract (see CONTRACT.md).
public enum CairnTopology {
    public static let events = "cairn.events"
    public static let eventsWork = "cairn.events.work"
    public static let dead = "cairn.dead"
    public static let deadEvents = "cairn.dead.events"
    public static let signals = "cairn.signals"
    public static let signalsEscalator = "cairn.signals.escalator"
    public static let tasks = "cairn.tasks"
    public static let outreach = "cairn.outreach"
    /// Deliveries of one message before the broker dead-letters it (RabbitMQ 3.10 has no default).
    public static let deliveryLimit = 5

    /// Everything every role may touch, declared by each role on connect (declarations are idempotent).
    public static let core = AMQPTopology(
        exchanges: [
            .init(events, kind: .topic), .init(dead, kind: .fanout), .init(signals, kind: .topic),
            .init(tasks, kind: .direct),
        ],
        queues: [
            .quorum(eventsWork, deadLetterExchange: dead, deliveryLimit: deliveryLimit),
            .quorum(deadEvents),
            .quorum(signalsEscalator, deadLetterExchange: dead, deliveryLimit: deliveryLimit),
            .quorum(outreach),
        ],
        bindings: [
            .init(queue: eventsWork, exchange: events, routingKey: "#"),
            .init(queue: deadEvents, exchange: dead, routingKey: ""),
            .init(queue: signalsEscalator, exchange: signals, routingKey: "#"),
            .init(queue: outreach, exchange: tasks, routingKey: "outreach"),
        ]
    )

    /// The queues that collect dead letters: every queue bound to an exchange that the topology names as a
    /// dead-letter exchange (`x-dead-letter-exchange`) or that the roles publish refused messages to (`cairn.dead`).
    /// Today that is `cairn.dead.events` alone; it has no delivery limit and no dead-letter exchange of its own,
    /// so looking at a dead letter (get, then requeue) can never drop it.
    public static var deadLetterQueues: [String] {
        var exchanges: Set<String> = [dead]
        for queue in core.queues {
            if case .string(let exchange)? = queue.arguments["x-dead-letter-exchange"] { exchanges.insert(exchange) }
        }
        return core.bindings.filter { exchanges.contains($0.exchange) }.map(\.queue)
    }

    /// The exchange that feeds `queue` (for sending a dead letter back where it came from), if the topology binds one.
    public static func exchange(feeding queue: String) -> String? {
        core.bindings.first { $0.queue == queue }?.exchange
    }

    /// The queue a task destination (`csm.dana`, `pool.smb`, `manager.lee`) is delivered to, bound by that key.
    public static func taskQueue(destination: String) -> AMQPTopology {
        let queue = "\(tasks).\(destination)"
        return AMQPTopology(
            queues: [.quorum(queue)], bindings: [.init(queue: queue, exchange: tasks, routingKey: destination)])
    }
}
