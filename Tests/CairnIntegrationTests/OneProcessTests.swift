import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// Every role in one process (`cairn demo`): the worker and the escalator consume at the same time.
@Suite("Every role in one process", .serialized)
struct OneProcessTests {
    @Test("The worker and the escalator in one process never acknowledge each other's deliveries")
    func consumersKeepTheirOwnAcknowledgements() async throws {
        let environment = try await IsolatedEnvironment.make("oneprocess")
        // A backlog that keeps both consumers busy at once: each account's batch raises signals (stage entered, CSM
        // assigned) that the escalator takes while the worker still holds deliveries of its own.
        let events = Self.backlog()
        try await environment.withAMQP { connection in
            for chunk in stride(from: 0, to: events.count, by: 500) {
                try await connection.publishConfirmed(events[chunk..<min(chunk + 500, events.count)].map(\.message))
            }
        }
        let all = try CairnProcess(
            ["demo"], environment: environment.processEnvironment(ingestPort: try freePort(), apiPort: try freePort()),
            logName: "demo-\(environment.name)")
        defer { all.kill() }
        let (applied, handled) = try await environment.withStore { store in
            let applied = await eventually(timeout: .seconds(90)) { (try? await store.eventCount(logger: store.testLogger)) == events.count }
            // Every signal the worker raised was relayed and handled by the escalator (tasks for the CSM).
            let handled = await eventually(timeout: .seconds(60)) {
                let unsent = try? await store.unsentOutboxCount(logger: store.testLogger)
                let tasks = try? await store.integer("SELECT count(*)::int8 FROM tasks")
                return unsent == 0 && (tasks ?? 0) > 0
            }
            return (applied, handled)
        }
        #expect(applied, "\(all.log)")
        #expect(handled, "\(all.log)")
        // A second acknowledgement of a tag the other consumer already covered closes the channel.
        #expect(!all.log.contains("unknown delivery tag"), "\(all.log)")
        #expect(!all.log.contains("AMQP connection failed"), "\(all.log)")
        #expect(await all.terminate() == 0)
        await environment.tearDown()
    }

    /// 300 enterprise accounts with a CSM: contract, CSM, kickoff and some usage each.
    static func backlog() -> [AccountEvent] {
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var events: [AccountEvent] = []
        for index in 0..<300 {
            let account = "one-\(index)"
            func add(_ name: String, _ hours: Double, _ properties: [String: JSONValue] = [:]) {
                events.append(AccountEvent(
                    messageId: "\(account)-\(events.count)", type: .track, event: name, accountId: account, userId: "\(account)-u",
                    timestamp: start.addingTimeInterval(hours * 3_600), properties: properties))
            }
            add(CanonicalEvent.contractSigned, 0, ["arr": 250_000, "seats": 50])
            add(CanonicalEvent.csmAssigned, 1, ["csmId": "dana"])
            add(CanonicalEvent.kickoffCompleted, 2)
            for hour in 3..<10 { add("Report Exported", Double(hour)) }
        }
        return events
    }
}
