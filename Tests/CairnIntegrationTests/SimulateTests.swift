import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// `cairn simulate` through HTTP ingest, paced or not.
@Suite("Simulate through ingest", .serialized)
struct SimulateTests {
    @Test("--via http sends the whole stream through ingest as Segment batches; the worker applies every event once")
    func simulateThroughIngest() async throws {
        let environment = try await IsolatedEnvironment.make("simhttp")
        let port = try freePort()
        let processEnvironment = environment.processEnvironment(ingestPort: port)
        let ingest = try CairnProcess(["ingest"], environment: processEnvironment, logName: "ingest-\(environment.name)")
        let worker = try CairnProcess(["worker"], environment: processEnvironment, logName: "worker-\(environment.name)")
        defer { ingest.kill(); worker.kill() }
        #expect(await becomesReady(port: port, path: "/healthz"))

        let simulate = try CairnProcess(
            ["simulate", "--via", "http", "--ingest-url", "http://127.0.0.1:\(port)", "--accounts", "20", "--days", "30",
             "--seed", "3", "--start", "2026-03-01", "--usage-scale", "0.3"],
            environment: processEnvironment, logName: "simulate-\(environment.name)")
        defer { simulate.kill() }
        #expect(await simulate.exitStatus(within: .seconds(120)) == 0, "\(simulate.log)")
        let published = simulate.simulatedEventCount
        #expect(published > 100, "\(simulate.log)")

        let applied = try await environment.withStore { store in
            _ = await eventually(timeout: .seconds(60)) { (try? await store.eventCount(logger: store.testLogger)) == published }
            return try await store.eventCount(logger: store.testLogger)
        }
        #expect(applied == published)
        #expect(try await environment.withStore { try await $0.integer("SELECT count(DISTINCT account_id)::int8 FROM accounts") } == 20)

        // A key ingest refuses ends the run at once with ingest's answer, instead of retrying for ever.
        let refused = try CairnProcess(
            ["simulate", "--via", "http", "--ingest-url", "http://127.0.0.1:\(port)", "--write-key", "wrong", "--accounts", "2",
             "--days", "2"],
            environment: processEnvironment, logName: "simulate-refused-\(environment.name)")
        defer { refused.kill() }
        #expect(await refused.exitStatus(within: .seconds(30)) != 0)
        #expect(refused.log.contains("answered 401"), "\(refused.log)")

        #expect(await worker.terminate() == 0)
        #expect(await ingest.terminate() == 0)
        await environment.tearDown()
    }

    @Test("--speed paces the simulated days: ten days at a tenth of a second each take at least 0.9 s")
    func speedPacesDays() async throws {
        let started = ContinuousClock.now
        let simulate = try CairnProcess(
            ["simulate", "--via", "ndjson", "--out", "-", "--accounts", "2", "--days", "10", "--speed", "864000"],
            environment: ProcessInfo.processInfo.environment, logName: "simulate-speed")
        defer { simulate.kill() }
        #expect(await simulate.exitStatus(within: .seconds(60)) == 0, "\(simulate.log)")
        // A lower bound only: nine waits of 0.1 s between ten days. How much longer it takes depends on the machine.
        #expect(ContinuousClock.now - started >= .milliseconds(900))
    }
}

extension CairnProcess {
    /// The event count of `cairn simulate`'s summary line, "<n> events, <accounts> accounts, <days> days in <s> s
    /// (...)"; 0 when there is none yet.
    var simulatedEventCount: Int {
        let summary = log.split(separator: "\n").last { $0.contains(" events, ") } ?? ""
        return Int(summary.split(separator: " ").first ?? "") ?? 0
    }
}
