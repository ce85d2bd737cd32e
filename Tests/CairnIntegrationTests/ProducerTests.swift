import CairnAMQP
import CairnClient
import CairnCore
import CairnTesting
import Foundation
import Testing

/// The CairnClient producer library against a real broker.
@Suite("Producer library", .serialized)
struct ProducerTests {
    @Test("Events sent while the broker drops the connection all reach the queue", .timeLimit(.minutes(3)))
    func survivesConnectionLoss() async throws {
        let environment = try await IsolatedEnvironment.make("producer")
        // The queue the events land in belongs to Cairn's topology: declare it as a worker would.
        try await environment.withAMQP { try await $0.declare(CairnTopology.core) }
        let producer = CairnProducer(
            configuration: .init(amqp: environment.amqp), logger: TestInfrastructure.logger("cairn.test.producer"))
        let total = 3_000
        let ids = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            var ids: [String] = []
            for index in 0..<total {
                let event = AccountEvent.track("Report Exported", accountId: "acct-\(index % 10)", userId: "u\(index)")
                try producer.send(event)
                ids.append(event.messageId)
                if index == 1_000 { _ = try await environment.closeConnections() }
                if index % 100 == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            await producer.flush()
            #expect(producer.pendingCount == 0)
            return ids
        }
        // A peek under a loaded machine may end before it saw everything, and what one peek was handed can stay
        // with it a while: look again for up to 90 s and keep everything any look saw, before calling anything
        // missing. (Each look replacing the last made a slow first look a "3000 of 3000 missing" in a loaded CI run.)
        let queuedIDs = try await environment.withAMQP { connection in
            var seen = Set<String>()
            _ = await eventually(timeout: .seconds(90)) {
                let queued = await connection.peekEvents(count: total, timeout: .seconds(30))
                seen.formUnion(queued.compactMap(\.messageID))
                return Set(ids).isSubset(of: seen)
            }
            return seen
        }
        let missing = Set(ids).subtracting(queuedIDs)
        #expect(missing.isEmpty, "\(missing.count) of \(total) events never reached the queue")
        await environment.tearDown()
    }

    @Test("Events are kept, not confirmed into nowhere, until a queue is bound", .timeLimit(.minutes(1)))
    func unroutableEventsStayBuffered() async throws {
        let environment = try await IsolatedEnvironment.make("unroutable")
        let producer = CairnProducer(
            configuration: .init(amqp: environment.amqp), logger: TestInfrastructure.logger("cairn.test.producer"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            let event = AccountEvent.track("x", accountId: "acme")
            try producer.send(event)
            try await Task.sleep(for: .seconds(1))
            #expect(producer.pendingCount == 1)  // returned by the broker: no queue is bound yet
            try await environment.withAMQP { try await $0.declare(CairnTopology.core) }
            await producer.flush()
            let queued = try await environment.withAMQP { await $0.peekEvents(count: 1, timeout: .seconds(30)) }
            #expect(queued.map(\.messageID) == [event.messageId])
        }
        await environment.tearDown()
    }

    @Test("While the broker is away the buffer holds its capacity and refuses more", .timeLimit(.minutes(1)))
    func bufferIsBounded() async throws {
        var amqp = try AMQPConfiguration(url: TestInfrastructure.amqpURL)
        amqp.port = try freePort()  // nothing listens there
        var configuration = CairnProducer.Configuration(amqp: amqp)
        configuration.bufferCapacity = 10
        let producer = CairnProducer(configuration: configuration, logger: TestInfrastructure.logger("cairn.test.producer"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            for index in 0..<10 { try producer.send(.track("x", accountId: "a\(index)")) }
            #expect(throws: CairnProducerError.bufferFull(capacity: 10)) { try producer.send(.track("x", accountId: "a")) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(producer.pendingCount == 10)
        }
    }
}
