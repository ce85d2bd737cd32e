import CairnAMQP
import CairnTesting
import Testing

/// Consumers that share a connection (the worker and the escalator in `cairn demo`) must not acknowledge each
/// other's deliveries: a delivery tag, and an acknowledgement of every tag up to one, belong to a channel.
@Suite("AMQP channels")
struct AMQPChannelTests {
    @Test("Two consumers on one connection: one's acknowledgement of all its deliveries leaves the other's alone")
    func consumersHaveTheirOwnChannels() async throws {
        let environment = try await IsolatedEnvironment.make("channels")
        try await environment.withAMQP { connection in
            let (first, second) = ("channels.first", "channels.second")
            try await connection.declare(AMQPTopology(queues: [AMQPQueue(first), AMQPQueue(second)]))
            func messages(to queue: String) -> [AMQPMessage] {
                (0..<100).map { AMQPMessage(exchange: "", routingKey: queue, body: Array("\($0)".utf8), messageID: "\(queue)-\($0)") }
            }

            try await connection.publishConfirmed(messages(to: first))
            let firstConsumer = connection.consume(queue: first, prefetch: 1000)
            let held = await firstConsumer.receive(100, timeout: .seconds(30))
            try #require(held.count == 100)

            try await connection.publishConfirmed(messages(to: second))
            let secondConsumer = connection.consume(queue: second, prefetch: 1000)
            let done = await secondConsumer.receive(100, timeout: .seconds(30))
            try #require(done.count == 100)
            // Everything up to the second consumer's last tag. On a shared channel that would take the first
            // consumer's deliveries with it (their tags are lower), and the nack below would close the channel.
            connection.ack(try #require(done.map(\.tag).max()), multiple: true)

            // The first consumer hands its deliveries back: they must come again, marked redelivered.
            connection.nack(try #require(held.map(\.tag).max()), multiple: true, requeue: true)
            let again = await firstConsumer.receive(100, timeout: .seconds(30))
            #expect(again.count == 100)
            #expect(again.allSatisfy { $0.redelivered })
            #expect(Set(again.compactMap(\.messageID)) == Set(held.compactMap(\.messageID)))
            #expect(connection.isConnected)
            // And the second queue is empty: its acknowledgement counted, once.
            #expect(try await connection.get(queue: second) == nil)
            connection.ack(try #require(again.map(\.tag).max()), multiple: true)
        }
        await environment.tearDown()
    }
}
