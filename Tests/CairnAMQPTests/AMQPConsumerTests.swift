@testable import CairnAMQP
import Testing

@Suite("Consumer buffer")
struct AMQPConsumerTests {
    func deliveries(_ range: Range<UInt64>) -> [AMQPDelivery] {
        range.map {
            AMQPDelivery(
                tag: AMQPDeliveryTag(generation: 1, value: $0), exchange: "e", routingKey: "k", redelivered: false,
                messageID: "\($0)", contentType: nil, headers: [:], body: [])
        }
    }

    @Test("What arrived in several rounds is handed out as one batch, oldest first, up to the limit")
    func coalescesRounds() async {
        let consumer = AMQPConsumer(tag: "test", mailbox: nil)
        consumer.deliver(deliveries(1..<4))
        consumer.deliver(deliveries(4..<6))
        consumer.deliver(deliveries(6..<10))
        #expect(await consumer.next(maxCount: 7)?.map(\.tag.value) == Array(1..<8))
        #expect(await consumer.next(maxCount: 7)?.map(\.tag.value) == [8, 9])
    }

    @Test("A waiting consumer gets a delivery as soon as it arrives")
    func wakesWaiter() async {
        let consumer = AMQPConsumer(tag: "test", mailbox: nil)
        async let batch = consumer.next(maxCount: 10)
        try? await Task.sleep(for: .milliseconds(20))
        consumer.deliver(deliveries(1..<2))
        #expect(await batch?.count == 1)
    }

    @Test("After the connection closes, what is left is handed out, then nil")
    func drainsThenEnds() async {
        let consumer = AMQPConsumer(tag: "test", mailbox: nil)
        consumer.deliver(deliveries(1..<3))
        consumer.finish()
        #expect(await consumer.next(maxCount: 10)?.count == 2)
        #expect(await consumer.next(maxCount: 10) == nil)
    }

    @Test("Cancelling a waiting consumer ends its wait with nil")
    func cancellationEndsWait() async {
        let consumer = AMQPConsumer(tag: "test", mailbox: nil)
        let task = Task { await consumer.next(maxCount: 10) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        #expect(await task.value == nil)
    }
}
