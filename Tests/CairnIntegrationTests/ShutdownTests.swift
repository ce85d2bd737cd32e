import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresNIO
import Testing

/// SIGTERM to a busy role: it stops taking work, finishes what it has, and exits 0 within a bound, losing nothing
/// it acknowledged.
@Suite("Graceful shutdown", .serialized)
struct ShutdownTests {
    static let bound = Duration.seconds(10)

    /// SIGTERM, then how the process ended and how long it took.
    static func stop(_ process: CairnProcess) async -> (status: Int32, took: Duration, exited: Bool) {
        let started = ContinuousClock.now
        let status = await process.terminate(timeout: bound + .seconds(5))
        return (status, ContinuousClock.now - started, process.process.terminationReason == .exit)
    }

    static func ids(_ store: Store, _ query: PostgresQuery) async throws -> Set<String> {
        var ids = Set<String>()
        for try await id in try await store.client.query(query).decode(String.self) { ids.insert(id) }
        return ids
    }

    @Test("A worker stopped mid-stream exits 0 in time; every event is in PostgreSQL or still on the queue")
    func busyWorker() async throws {
        let environment = try await IsolatedEnvironment.make("stop-worker")
        let total = 6_000
        let events = AccountEvent.usageStream(count: total, accounts: 200, users: 900)
        try await environment.withAMQP { connection in
            for chunk in stride(from: 0, to: total, by: 1000) {
                try await connection.publishConfirmed(events[chunk..<min(chunk + 1000, total)].map(\.message))
            }
        }
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        defer { worker.kill() }
        let busy = try await environment.withStore { store in
            await eventually(timeout: .seconds(60), every: .milliseconds(5)) {
                ((try? await store.integer("SELECT count(*)::int8 FROM events")) ?? 0) >= 500
            }
        }
        #expect(busy, "the worker applied nothing: \(worker.log)")
        let atSignal = try await environment.withStore { try await $0.integer("SELECT count(*)::int8 FROM events") }
        let (status, took, exited) = await Self.stop(worker)
        print("worker: \(atSignal) of \(total) applied at SIGTERM, stopped in \(took)")
        #expect(status == 0 && exited, "\(worker.log)")
        #expect(took < Self.bound, "took \(took): \(worker.log)")

        let applied = try await environment.withStore { try await Self.ids($0, "SELECT message_id FROM events") }
        #expect(applied.count < total, "the worker finished before SIGTERM; the test proves nothing")
        let queued = try await environment.withAMQP {
            await $0.peekEvents(count: total - applied.count, timeout: .seconds(10))
        }
        let queuedIDs = Set(queued.compactMap(\.messageID))
        let lost = Set(events.map(\.messageId)).subtracting(applied).subtracting(queuedIDs)
        #expect(lost.isEmpty, "\(lost.count) events neither in PostgreSQL nor on the queue, e.g. \(lost.sorted().prefix(5))")
        // What was applied was acknowledged before exit, unless the batch was committed a moment before: then it is
        // on the queue too, and applying it again changes nothing.
        #expect(applied.count + queuedIDs.subtracting(applied).count == total)
        await environment.tearDown()
    }

    @Test("Ingest stopped with requests in flight exits 0 in time; every event answered 200 is on the queue")
    func busyIngest() async throws {
        let environment = try await IsolatedEnvironment.make("stop-ingest")
        let port = try freePort()
        let ingest = try CairnProcess(["ingest"], environment: environment.processEnvironment(ingestPort: port), logName: "ingest-\(environment.name)")
        defer { ingest.kill() }
        #expect(await becomesReady(port: port), "\(ingest.log)")

        let answered = Shared(0)
        async let outcomes: [(String, Int)] = withTaskGroup(of: [(String, Int)].self) { group in
            for client in 0..<8 {
                group.addTask {
                    var results: [(String, Int)] = []
                    for request in 0..<5_000 {
                        let id = "stop-\(client)-\(request)"
                        let body = (0..<10).map { #"{"type":"track","messageId":"\#(id)-\#($0)","event":"x","context":{"groupId":"acme"}}"# }
                        let status = (try? await http(
                            port: port, path: "/v1/batch", body: json(#"{"batch":[\#(body.joined(separator: ","))]}"#),
                            headers: ["Authorization": basicAuth("dev-write-key")]))?.status ?? 0
                        results.append((id, status))
                        if status == 200 { answered.withLock { $0 += 1 } }
                        if status == 0 { break }  // the listener is closed
                    }
                    return results
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        // Stop once requests are being answered (on a loaded machine the first ones take a while), with more in flight.
        #expect(await eventually(timeout: .seconds(60)) { answered.withLock { $0 } >= 20 }, "\(ingest.log)")
        let (status, took, exited) = await Self.stop(ingest)
        let results = await outcomes
        #expect(status == 0 && exited, "\(ingest.log)")
        #expect(took < Self.bound, "took \(took): \(ingest.log)")
        let accepted = results.filter { $0.1 == 200 }.flatMap { id, _ in (0..<10).map { "\(id)-\($0)" } }
        #expect(!accepted.isEmpty)
        #expect(results.allSatisfy { [0, 200, 503].contains($0.1) }, "\(Dictionary(grouping: results, by: \.1).mapValues(\.count))")
        let queued = try await environment.withAMQP {
            await $0.peekEvents(count: accepted.count, timeout: .seconds(10))
        }
        let lost = Set(accepted).subtracting(queued.compactMap(\.messageID))
        #expect(lost.isEmpty, "\(lost.count) events answered 200 but not queued, e.g. \(lost.sorted().prefix(5))")
        await environment.tearDown()
    }

    @Test("An escalator stopped while signals stream in exits 0 in time; every signal is handled or still on its queue")
    func busyEscalator() async throws {
        let environment = try await IsolatedEnvironment.make("stop-escalator")
        // Signals from a worker: every account signs, gets a CSM and a new champion.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        var events: [AccountEvent] = []
        for index in 0..<600 {
            let account = "acct-\(index)"
            events.append(AccountEvent(
                messageId: "\(account)-signed", type: .track, event: CanonicalEvent.contractSigned, accountId: account, userId: "ana",
                timestamp: now.addingTimeInterval(-120), properties: ["arr": 400_000]))
            events.append(AccountEvent(
                messageId: "\(account)-csm", type: .track, event: CanonicalEvent.csmAssigned, accountId: account, userId: "ana",
                timestamp: now.addingTimeInterval(-60), properties: ["csmId": .string(index % 2 == 0 ? "dana" : "lee")]))
            events.append(AccountEvent(
                messageId: "\(account)-champion", type: .track, event: CanonicalEvent.contactRoleChanged, accountId: account,
                userId: "ben", timestamp: now, properties: ["role": .string("champion")]))
        }
        let published = events
        try await environment.withAMQP { try await $0.publishConfirmed(published.map(\.message)) }
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        defer { worker.kill() }
        let relayed = try await environment.withStore { store in
            await eventually(timeout: .seconds(120)) {
                let applied = try? await store.integer("SELECT count(*)::int8 FROM events")
                let unsent = try? await store.unsentOutboxCount(logger: store.testLogger)
                return applied == published.count && unsent == 0
            }
        }
        #expect(relayed, "signals not relayed: \(worker.log)")
        #expect(await worker.terminate() == 0)
        let signals = try await environment.withStore {
            try await Self.ids($0, "SELECT message_id FROM outbox WHERE exchange = 'cairn.signals'")
        }
        #expect(signals.count >= 1_000)

        let escalator = try CairnProcess(["escalator"], environment: environment.processEnvironment(), logName: "escalator-\(environment.name)")
        defer { escalator.kill() }
        let handledQuery: PostgresQuery = """
            SELECT p.message_id FROM processed_messages p JOIN outbox o ON o.message_id = p.message_id
            WHERE o.exchange = 'cairn.signals'
            """
        let busy = try await environment.withStore { store in
            await eventually(timeout: .seconds(60), every: .milliseconds(5)) {
                ((try? await Self.ids(store, handledQuery))?.count ?? 0) >= 50
            }
        }
        #expect(busy, "the escalator handled nothing: \(escalator.log)")
        let atSignal = try await environment.withStore { try await Self.ids($0, handledQuery).count }
        let (status, took, exited) = await Self.stop(escalator)
        #expect(status == 0 && exited, "\(escalator.log)")
        #expect(took < Self.bound, "took \(took): \(escalator.log)")

        let handled = try await environment.withStore { try await Self.ids($0, handledQuery) }
        #expect(handled.count < signals.count, "the escalator finished before SIGTERM; the test proves little")
        let queued = try await environment.withAMQP {
            await $0.peek(queue: CairnTopology.signalsEscalator, count: signals.count - handled.count, timeout: .seconds(10))
        }
        let lost = signals.subtracting(handled).subtracting(queued.compactMap(\.messageID))
        #expect(lost.isEmpty, "\(lost.count) signals neither handled nor queued, e.g. \(lost.sorted().prefix(5))")
        print("escalator: \(atSignal) of \(signals.count) signals handled at SIGTERM, \(handled.count) at exit, stopped in \(took)")
        // Every task of a handled signal left through the outbox (the relay's last round at shutdown, or a later one).
        let unsent = try await environment.withStore { try await $0.unsentOutboxCount(logger: $0.testLogger) }
        #expect(unsent == 0)
        await environment.tearDown()
    }

    @Test("The API stopped with requests and a live stream in flight exits 0 in time, answering no request with an error")
    func busyAPI() async throws {
        let environment = try await IsolatedEnvironment.make("stop-api")
        let port = try freePort()
        let api = try CairnProcess(["api"], environment: environment.processEnvironment(apiPort: port), logName: "api-\(environment.name)")
        defer { api.kill() }
        #expect(await becomesReady(port: port), "\(api.log)")
        let output = TestInfrastructure.artifacts.appendingPathComponent("stream-\(environment.name).txt")
        let stream = try APITests.curl(port: port, output: output, seconds: 60)
        defer { if stream.isRunning { stream.terminate() } }
        #expect(await eventually { ((try? String(contentsOf: output, encoding: .utf8)) ?? "").contains(": connected") })

        let answered = Shared(0)
        async let outcomes: [Int] = withTaskGroup(of: [Int].self) { group in
            for _ in 0..<6 {
                group.addTask {
                    var statuses: [Int] = []
                    for _ in 0..<2_000 {
                        let status = (try? await http(
                            port: port, path: "/api/v1/accounts?limit=50", headers: ["Authorization": "Bearer dev-api-token"]))?.status ?? 0
                        statuses.append(status)
                        if status == 200 { answered.withLock { $0 += 1 } }
                        if status == 0 { break }
                    }
                    return statuses
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        // Stop once requests are being answered, with more in flight.
        #expect(await eventually(timeout: .seconds(60)) { answered.withLock { $0 } >= 20 }, "\(api.log)")
        let (status, took, exited) = await Self.stop(api)
        let statuses = await outcomes
        #expect(status == 0 && exited, "\(api.log)")
        #expect(took < Self.bound, "took \(took): \(api.log)")
        #expect(statuses.contains(200))
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 0 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        await environment.tearDown()
    }

    @Test("A role whose parent was killed stops by itself, gracefully, and runs on while the parent lives (CAIRN_PARENT_PID)")
    func orphanStops() async throws {
        let environment = try await IsolatedEnvironment.make("orphan")
        let (log, output) = try TestInfrastructure.outputFile("worker-\(environment.name).log")
        let (pidFile, _) = try TestInfrastructure.outputFile("worker-\(environment.name).pid")
        // A shell stands in for the parent (a benchmark, a test run): it starts the worker, with its own pid as
        // CAIRN_PARENT_PID and its output in the log, writes the worker's pid to a file, and waits.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", #"CAIRN_PARENT_PID=$$ "$0" worker & echo $! >"$1"; wait"#, TestInfrastructure.binary, pidFile.path]
        shell.environment = environment.processEnvironment()
        shell.standardOutput = output
        shell.standardError = output
        try shell.run()
        defer { if shell.isRunning { kill(shell.processIdentifier, SIGKILL) } }
        func written() -> pid_t? {
            ((try? String(contentsOf: pidFile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        }
        #expect(await eventually(timeout: .seconds(10)) { written() != nil }, "the shell wrote no pid")
        let worker = try #require(written())
        defer { if !processHasEnded(worker) { kill(worker, SIGKILL) } }
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        #expect(await eventually(timeout: .seconds(30)) { text().contains("AMQP connected") }, "the worker did not start: \(text())")
        try await Task.sleep(for: .seconds(1.5))  // three looks at its parent
        #expect(!processHasEnded(worker), "the worker stopped while its parent lived: \(text())")

        let started = ContinuousClock.now
        kill(shell.processIdentifier, SIGKILL)
        #expect(await eventually(timeout: Self.bound) { processHasEnded(worker) }, "the orphan ran on: \(text())")
        print("orphaned worker stopped \(ContinuousClock.now - started) after its parent was killed")
        let words = text()
        #expect(words.contains("the process that started this one is gone"), "\(words)")
        #expect(words.contains("shutting down gracefully") && words.contains("stopped consuming"), "\(words)")
        #expect(!words.contains("did not finish in time") && !words.contains("Fatal error"), "\(words)")
        await environment.tearDown()
    }
}
