public import CairnAMQP
public import CairnStore
import Logging
public import PostgresNIO

extension AMQPConnection {
    /// Publishes as every producer must: a batch the broker nacked or lost with the connection is sent again, for
    /// up to a minute. (A busy broker nacks a channel's first publish to a quorum queue that could not register it
    /// in time; tests publish on fresh connections to fresh queues, and CI runs them all at once.)
    public func publishConfirmed(_ messages: [AMQPMessage]) async throws {
        try await publish(messages, retryingFor: .seconds(60), logger: TestInfrastructure.logger("cairn.test.amqp"))
    }

    public func publishConfirmed(_ message: AMQPMessage) async throws {
        try await publishConfirmed([message])
    }

    /// Consumes the workers' queues (`cairn.events.work.<n>`) together without acknowledging, until `count` messages
    /// arrived or `timeout` passed. The messages go back to their queues when the consumers' channels close, after.
    public func peekEvents(count: Int = .max, timeout: Duration) async -> [AMQPDelivery] {
        let prefetch = UInt16(clamping: max(1, min(count, 60_000)))
        let consumers = CairnTopology.eventQueues.map { consume(queue: $0, prefetch: prefetch) }
        let (arrivals, arriving) = AsyncStream.makeStream(of: [AMQPDelivery].self)
        return await withTaskGroup(of: Void.self) { group in
            for consumer in consumers {
                group.addTask {
                    while let deliveries = await consumer.next(maxCount: .max) { arriving.yield(deliveries) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                arriving.finish()
            }
            var received: [AMQPDelivery] = []
            for await deliveries in arrivals {
                received += deliveries
                if received.count >= count { break }
            }
            arriving.finish()
            group.cancelAll()
            consumers.forEach { $0.close() }
            return received
        }
    }

    /// Consumes `queue` without acknowledging, until `count` messages arrived or `timeout` passed. The messages
    /// go back to the queue when the consumer's channel closes, after.
    public func peek(queue: String, count: Int = .max, timeout: Duration) async -> [AMQPDelivery] {
        // Unacknowledged deliveries are capped by the prefetch, so it must cover everything to be seen.
        let consumer = consume(queue: queue, prefetch: UInt16(clamping: max(1, min(count, 60_000))))
        defer { consumer.close() }  // so a next look on this connection sees the messages again
        return await consumer.receive(count, timeout: timeout)
    }
}

extension AMQPConsumer {
    /// Waits for `count` deliveries, or until `timeout` passed; returns what arrived, without acknowledging it.
    public func receive(_ count: Int, timeout: Duration) async -> [AMQPDelivery] {
        await withTaskGroup(of: [AMQPDelivery]?.self) { group in
            group.addTask {
                var received: [AMQPDelivery] = []
                while received.count < count, let deliveries = await self.next(maxCount: count - received.count) {
                    received += deliveries
                }
                return received
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            var result: [AMQPDelivery] = []
            for await value in group {
                if let value { result = value }
                group.cancelAll()
            }
            return result
        }
    }
}

extension Store {
    /// One integer from a verification query.
    public func integer(_ query: PostgresQuery) async throws -> Int {
        for try await value in try await client.query(query).decode(Int.self) { return value }
        return 0
    }

    /// The first column of every row, as text.
    public func strings(_ query: PostgresQuery) async throws -> [String] {
        var values: [String] = []
        for try await value in try await client.query(query).decode(String.self) { values.append(value) }
        return values
    }
}
