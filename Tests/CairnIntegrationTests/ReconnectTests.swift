import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// The AMQP bridge recovers by itself when the broker drops its connections.
@Suite("Reconnect", .serialized)
struct ReconnectTests {
    @Test("Publishing while the connection is down fails fast and transiently, then works again after the reconnect")
    func publishRecoversAfterConnectionLoss() async throws {
        let environment = try await IsolatedEnvironment.make("reconnect")
        try await environment.withAMQP { connection in
            let event = AccountEvent(messageId: "a", type: .track, event: "x", accountId: "acme", timestamp: Date())
            let message = AMQPMessage(exchange: CairnTopology.events, routingKey: "acme", body: event.encoded(), messageID: "a")
            try await connection.publish(message)
            let closed = try await environment.closeConnections()
            #expect(closed >= 1)
            // Until the reconnect, publishes fail with a transient error (ingest turns it into a 503).
            var sawTransientFailure = false
            let recovered = await eventually(timeout: .seconds(15), every: .milliseconds(20)) {
                do {
                    try await connection.publish(message)
                    return true
                } catch let error as AMQPError {
                    sawTransientFailure = sawTransientFailure || error.isTransient
                    return false
                } catch {
                    return false
                }
            }
            #expect(recovered)
            #expect(sawTransientFailure || connection.isConnected)
        }
        await environment.tearDown()
    }

    @Test("A worker whose connection the broker closed reconnects and goes on applying events")
    func workerResumesAfterConnectionLoss() async throws {
        let environment = try await IsolatedEnvironment.make("workerreconnect")
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        defer { worker.kill() }
        let first = AccountEvent(messageId: "before", type: .track, event: "x", accountId: "acme", timestamp: Date())
        let second = AccountEvent(messageId: "after", type: .track, event: "x", accountId: "acme", timestamp: Date())
        func publish(_ event: AccountEvent) async throws {
            try await environment.withAMQP { connection in
                try await connection.publish(
                    AMQPMessage(exchange: CairnTopology.events, routingKey: "acme", body: event.encoded(), messageID: event.messageId))
            }
        }
        func applied(_ id: String) async throws -> Bool {
            try await environment.withStore { store in
                await eventually { (try? await store.integer("SELECT count(*)::int8 FROM events WHERE message_id = \(id)")) == 1 }
            }
        }
        try await publish(first)
        #expect(try await applied("before"), "\(worker.log)")
        #expect(try await environment.closeConnections() >= 1)
        try await publish(second)
        #expect(try await applied("after"), "\(worker.log)")
        #expect(worker.log.contains("AMQP connection failed; reconnecting"))
        #expect(await worker.terminate() == 0)
        await environment.tearDown()
    }

    @Test("With a list of nodes, a connection whose first node does not answer uses the next, and a role works through it")
    func nodeListSkipsADeadNode() async throws {
        let environment = try await IsolatedEnvironment.make("nodelist")
        // Nothing listens on a port just released; the live broker comes second.
        var listed = environment.amqp
        let live = listed.endpoints[0]
        listed.host = "127.0.0.1"
        listed.port = try freePort()
        listed.otherEndpoints = [live]
        let event = AccountEvent(messageId: "listed", type: .track, event: "x", accountId: "acme", timestamp: Date())
        let connection = AMQPConnection(
            configuration: listed, topology: CairnTopology.core, logger: TestInfrastructure.logger("cairn.test.amqp"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            defer { connection.close() }
            #expect(await eventually(timeout: .seconds(15)) { connection.isConnected })
            try await connection.publishConfirmed([event.message])
        }
        // A worker given the same list as CAIRN_AMQP_URL reaches the broker and applies the event.
        var processEnvironment = environment.processEnvironment()
        let url = processEnvironment["CAIRN_AMQP_URL"]!
        processEnvironment["CAIRN_AMQP_URL"] = url.replacingOccurrences(of: "@\(live.host):\(live.port)/", with: "@127.0.0.1:\(listed.port)/")
            + "," + url
        let worker = try CairnProcess(["worker"], environment: processEnvironment, logName: "worker-\(environment.name)")
        defer { worker.kill() }
        let applied = try await environment.withStore { store in
            await eventually(timeout: .seconds(60)) {
                (try? await store.integer("SELECT count(*)::int8 FROM events WHERE message_id = 'listed'")) == 1
            }
        }
        #expect(applied, "\(worker.log)")
        #expect(worker.log.contains("127.0.0.1:\(listed.port)") && worker.log.contains("AMQP connected"), "\(worker.log)")
        #expect(await worker.terminate() == 0)
        await environment.tearDown()
    }
}
