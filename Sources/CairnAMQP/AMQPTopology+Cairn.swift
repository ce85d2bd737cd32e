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

    /// The queue a task destination (`csm.dana`, `pool.smb`, `manager.lee`) is delivered to, bound by that key.
    public static func taskQueue(destination: String) -> AMQPTopology {
        let queue = "\(tasks).\(destination)"
        return AMQPTopology(
            queues: [.quorum(queue)], bindings: [.init(queue: queue, exchange: tasks, routingKey: destination)])
    }
}
