/// The names and topology of Cairn's AMQP contract (see CONTRACT.md).
public enum CairnTopology {
    public static let events = "cairn.events"
    /// Spreads the events over the work queues by account (consistent hash of the routing key, the account id).
    public static let eventsByAccount = "cairn.events.partitions"
    /// The workers' queues, `cairn.events.work.0` to `cairn.events.work.7`: each account's events all go to one of
    /// them, in the order they were published, and each is consumed by one worker at a time, so an account's events are
    /// applied in order. The count is part of the contract: every role declares the same queues, and a message goes to
    /// whichever queue the hash names, consumed or not.
    public static let eventPartitions = 8
    public static func eventsWork(partition: Int) -> String { "cairn.events.work.\(partition)" }
    public static let eventQueues = (0..<eventPartitions).map { eventsWork(partition: $0) }
    /// The one work queue all workers shared before the partitions. Not declared any more; a broker upgraded in place
    /// still has it (drain it, then delete it: see docs/operations.md), and its dead letters replay to `cairn.events`.
    public static let legacyEventsWork = "cairn.events.work"
    /// Points of each work queue on the hash ring: enough that the accounts split about evenly between the queues.
    static let hashRingWeight = "32"
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
            .init(events, kind: .topic), .init(eventsByAccount, kind: .consistentHash), .init(dead, kind: .fanout),
            .init(signals, kind: .topic), .init(tasks, kind: .direct),
        ],
        queues: eventQueues.map {
            .quorum($0, deadLetterExchange: dead, deliveryLimit: deliveryLimit, singleActiveConsumer: true)
        } + [
            .quorum(deadEvents),
            .quorum(signalsEscalator, deadLetterExchange: dead, deliveryLimit: deliveryLimit),
            .quorum(outreach),
        ],
        bindings: eventQueues.map { .init(queue: $0, exchange: eventsByAccount, routingKey: hashRingWeight) } + [
            .init(queue: deadEvents, exchange: dead, routingKey: ""),
            .init(queue: signalsEscalator, exchange: signals, routingKey: "#"),
            .init(queue: outreach, exchange: tasks, routingKey: "outreach"),
        ],
        exchangeBindings: [.init(destination: eventsByAccount, source: events, routingKey: "#")]
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
    /// For the work queues that is `cairn.events`, where producers publish: the hash then picks the account's queue.
    public static func exchange(feeding queue: String) -> String? {
        if isEventQueue(queue) || queue == legacyEventsWork { return events }
        return core.bindings.first { $0.queue == queue }?.exchange
    }

    /// Whether `queue` is one of the workers' queues.
    public static func isEventQueue(_ queue: String) -> Bool { eventQueues.contains(queue) }

    /// The queue a task destination (`csm.dana`, `pool.smb`, `manager.lee`) is delivered to, bound by that key.
    public static func taskQueue(destination: String) -> AMQPTopology {
        let queue = "\(tasks).\(destination)"
        return AMQPTopology(
            queues: [.quorum(queue)], bindings: [.init(queue: queue, exchange: tasks, routingKey: destination)])
    }
}
