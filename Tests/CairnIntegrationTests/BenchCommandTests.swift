import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// `cairn bench` on the test servers, small: it must finish, print its tables and exit 0.
@Suite("Bench command", .serialized)
struct BenchCommandTests {
    @Test("a small cairn bench measures every part, writes its JSON and exits 0 soon after the last measurement")
    func smallBenchEndsCleanly() async throws {
        let environment = try await IsolatedEnvironment.make("bench")
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-bench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        // Each measurement starts and stops its own workers and relays; stopping them all at once once left an outbox
        // round waiting for a pool that had stopped, and the watchdog ended the run with 75 two minutes later.
        let bench = try CairnProcess(
            ["bench", "--events", "600", "--accounts", "30,60", "--workers", "1,2", "--latency-seconds", "1",
             "--signals", "40", "--signal-rate", "200", "--http-seconds", "1", "--http-connections", "4", "--memory-seconds", "4", "--json", json.path],
            environment: environment.processEnvironment(), logName: "bench-\(environment.name)")
        defer { bench.kill() }
        // Alone it takes about 35 s; beside the fault suite on two cores it took 73 s, and once in CI more than 100.
        // A hang still fails: the watchdog ends a stuck run with 75, and the limit below ends anything else.
        let status = await bench.exitStatus(within: .seconds(300))
        let log = bench.log
        guard status == 0 else {
            Issue.record("cairn bench ended with \(status.map(String.init) ?? "no exit within 300 s"); its log:\n\(log)")
            bench.kill()
            await environment.tearDown()
            return
        }
        #expect(log.contains("| raw broker pass-through"), "\(log)")
        #expect(log.contains("| work-queue pass-through (publish to cairn.events, consume+ack from the 8 work queues) |"), "\(log)")
        #expect(log.components(separatedBy: "| end-to-end (AMQP publish to committed state) |").count == 5, "\(log)")
        #expect(log.contains("| half the 1-worker rate | 30 | 1 |"), "\(log)")
        #expect(log.contains("| paced | 40 |") && log.contains("| all at once | 40 |"), "\(log)")
        #expect(!log.contains("did not finish in time"), "\(log)")
        #expect(log.contains("| raw publish with confirms to cairn.events"), "\(log)")
        #expect(log.contains("| POST /v1/batch | 100 | 4 |"), "\(log)")
        #expect(log.contains("| worker memory: seconds |") && log.contains("exit status on SIGTERM 0"), "\(log)")

        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let pipeline = report?["pipeline"] as? [String: Any]
        let runs = pipeline?["runs"] as? [[String: Any]] ?? []
        #expect(runs.map { $0["accounts"] as? Int } == [30, 30, 60, 60])
        #expect((pipeline?["workQueueMessagesPerSecond"] as? Double ?? 0) > 0, "\(String(describing: pipeline))")
        #expect(runs.allSatisfy { ($0["eventsPerSecond"] as? Double ?? 0) > 0 && ($0["ratio"] as? Double ?? 0) > 0 })
        #expect((report?["escalation"] as? [String: Any])?["burst"] != nil)
        // The worker's memory, read from /proc of a separate worker process while it applied a paced stream.
        let memory = pipeline?["workerMemory"] as? [String: Any]
        let samples = memory?["samples"] as? [[String: Any]] ?? []
        #expect(samples.count >= 3, "\(String(describing: memory))")
        #expect(samples.allSatisfy { ($0["residentMiB"] as? Double ?? 0) > 1 }, "\(samples)")
        #expect((samples.last?["events"] as? Int) == (memory?["events"] as? Int), "\(String(describing: memory))")
        #expect((memory?["exitStatus"] as? Int) == 0)
        // HTTP ingest: every batch answered 2xx, the events counted from the answers, compared with raw publish.
        let ingest = report?["ingest"] as? [String: Any]
        let http = ingest?["http"] as? [String: Any]
        #expect((http?["requests"] as? Int ?? 0) > 0, "\(String(describing: ingest))")
        #expect(http?["non2xx"] as? Int == 0 && http?["errors"] as? Int == 0, "\(String(describing: ingest))")
        #expect((ingest?["rawPublishPerSecond"] as? Double ?? 0) > 0 && (ingest?["ratio"] as? Double ?? 0) > 0)
        await environment.tearDown()
    }

    @Test("Bad cairn bench options stop it at once, exit 64 and name the option, before anything is measured",
          arguments: [
              (["--http-seconds=-1"], "--http-seconds must be 0 or more"),
              (["--http-connections", "0"], "--http-connections must be positive"),
              (["--latency-seconds=-5"], "--latency-seconds must be 0 or more"),
              (["--signals=-1"], "--signals must be 0 or more"),
              (["--signal-rate", "0"], "--signal-rate must be positive"),
              (["--events", "0"], "--events must be positive"),
              (["--accounts", "1000,x"], "--accounts must be positive whole numbers"),
              (["--workers", "0"], "--workers must be positive whole numbers"),
              (["--escalation-only", "--signals", "0"], "--escalation-only needs --signals above 0"),
              (["--memory-seconds=-1"], "--memory-seconds must be 0 or more"),
          ])
    func refusesBadOptions(arguments: [String], message: String) async throws {
        // No servers at these addresses: a bench that got past its options would fail differently, and later.
        var environment = ProcessInfo.processInfo.environment
        environment["CAIRN_AMQP_URL"] = "amqp://guest:guest@127.0.0.1:1/%2f"
        environment["CAIRN_DATABASE_URL"] = "postgres://cairn:cairn@127.0.0.1:1/cairn"
        let bench = try CairnProcess(["bench"] + arguments, environment: environment, logName: "bench-bad-options")
        defer { bench.kill() }
        #expect(await bench.exitStatus(within: .seconds(20)) == 64, "\(bench.log)")
        #expect(bench.log.contains(message), "\(bench.log)")
    }

    @Test("cairn bench --backlog queues every event before the workers start, then times the drain and checks each was applied once")
    func backlogBench() async throws {
        let environment = try await IsolatedEnvironment.make("benchbacklog")
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-bench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let bench = try CairnProcess(
            ["bench", "--backlog", "--events", "2000", "--accounts", "50", "--workers", "2", "--latency-seconds", "0",
             "--signals", "0", "--memory-seconds", "0", "--json", json.path],
            environment: environment.processEnvironment(), logName: "bench-backlog-\(environment.name)")
        defer { bench.kill() }
        #expect(await bench.exitStatus(within: .seconds(100)) == 0, "\(bench.log)")
        #expect(bench.log.contains("| backlog drained (queued first in "), "\(bench.log)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let runs = (report?["pipeline"] as? [String: Any])?["runs"] as? [[String: Any]] ?? []
        #expect(runs.count == 1)
        #expect(runs.allSatisfy { ($0["queueSeconds"] as? Double ?? 0) > 0 && ($0["eventsPerSecond"] as? Double ?? 0) > 0 })
        // Every event in the log, each counted once on its account (the bench itself fails otherwise).
        let (logged, counted) = try await environment.withStore { store in
            (try await store.integer("SELECT count(*)::int8 FROM events"),
             try await store.integer("SELECT coalesce(sum(event_count), 0)::int8 FROM accounts"))
        }
        // The raw pass-through's messages go to a queue of their own, never to the log.
        #expect(logged == 2000 && counted == 2000, "logged \(logged), counted \(counted)")
        await environment.tearDown()
    }

    @Test("cairn bench --stored stores each account count first (the templates through the pipeline, the rest copied) and sends every run's events to the same number of them")
    func storedBench() async throws {
        let environment = try await IsolatedEnvironment.make("benchstored")
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-bench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let bench = try CairnProcess(
            ["bench", "--stored", "--events", "400", "--accounts", "200,40", "--workers", "1", "--latency-seconds", "0",
             "--signals", "0", "--http-seconds", "0", "--memory-seconds", "0", "--json", json.path],
            environment: environment.processEnvironment(), logName: "bench-stored-\(environment.name)")
        defer { bench.kill() }
        #expect(await bench.exitStatus(within: .seconds(100)) == 0, "\(bench.log)")
        #expect(bench.log.contains("stored 40 accounts (40 added: 40 through the pipeline, the rest copied in SQL)"), "\(bench.log)")
        #expect(bench.log.contains("stored 200 accounts (160 added: 0 through the pipeline, the rest copied in SQL)"), "\(bench.log)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let runs = (report?["pipeline"] as? [String: Any])?["runs"] as? [[String: Any]] ?? []
        // Ascending account counts, each run over 40 (the smallest count) of the stored accounts.
        #expect(runs.map { $0["accounts"] as? Int } == [40, 200])
        #expect(runs.map { $0["touchedAccounts"] as? Int } == [40, 40])
        let (accounts, journeys, health, spread, outside) = try await environment.withStore { store in
            (try await store.integer("SELECT count(*)::int8 FROM accounts WHERE account_id LIKE 'bench-stored-%'"),
             try await store.integer("SELECT count(*)::int8 FROM journey WHERE account_id LIKE 'bench-stored-%'"),
             try await store.integer("SELECT count(*)::int8 FROM health WHERE account_id LIKE 'bench-stored-%'"),
             // The 200-account run's events went to accounts spread over all 200, five apart.
             try await store.integer(
                "SELECT count(DISTINCT account_id)::int8 FROM events WHERE message_id LIKE 'bench-%-200-1-%' AND account_id LIKE 'bench-stored-%'"),
             try await store.integer("SELECT count(*)::int8 FROM accounts WHERE account_id NOT LIKE 'bench-stored-%'"))
        }
        #expect(accounts == 200 && journeys == 200 && health == 200, "\(accounts) \(journeys) \(health)")
        #expect(spread == 40)
        #expect(outside == 0)
        await environment.tearDown()
    }
}
