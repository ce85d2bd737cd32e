import ArgumentParser
import Foundation
import CairnAMQP
import CairnApp
import CairnHTTP
import CairnSimulator
import CairnStore
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

@main
struct Cairn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cairn: every customer account's journey and health, live, and the right task for the right person.",
        subcommands: [
            Ingest.self, Worker.self, Escalator.self, API.self, Migrate.self, Demo.self, Bench.self, BenchHTTP.self, Simulate.self, Evaluate.self,
            Tasks.self, DeadLetters.self, HashSecret.self, Config.self,
        ])
}

/// Options every role shares.
struct RoleOptions: ParsableArguments {
    @Flag(help: "Apply pending database migrations before starting.")
    var migrate = false
}

extension AsyncParsableCommand {
    /// Runs `roles` in one process until SIGTERM or SIGINT.
    func run(roles: Set<Role>, migrate: Bool) async throws {
        let settings = try loadSettings()
        let logger = makeLogger(settings)
        if migrate { _ = try await runMigrations(settings: settings, logger: logger) }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        try await buildServiceGroup(roles: roles, settings: settings, metrics: registry, logger: logger).run()
    }

    func loadSettings() throws -> CairnSettings {
        do {
            return try CairnSettings()
        } catch let error as SettingsError {
            throw ValidationError("configuration: \(error)")
        }
    }

    func makeLogger(_ settings: CairnSettings) -> Logger {
        var logger = Logger(label: "cairn")
        logger.logLevel = settings.logLevel
        return logger
    }
}

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Segment-compatible HTTP ingest (CAIRN_INGEST_PORT).")
    @OptionGroup var options: RoleOptions
    func run() async throws { try await run(roles: [.ingest], migrate: options.migrate) }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply events from the work queues (cairn.events.work.<n>, shared out between the workers) to PostgreSQL.")
    @OptionGroup var options: RoleOptions
    func run() async throws { try await run(roles: [.worker], migrate: options.migrate) }
}

struct Escalator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn signals into playbook tasks on the CSM queues.")
    @OptionGroup var options: RoleOptions
    func run() async throws { try await run(roles: [.escalator], migrate: options.migrate) }
}

struct API: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "REST API (CAIRN_API_PORT).")
    @OptionGroup var options: RoleOptions
    func run() async throws { try await run(roles: [.api], migrate: options.migrate) }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")
    func run() async throws {
        let settings = try loadSettings()
        let applied = try await runMigrations(settings: settings, logger: makeLogger(settings))
        print(applied.isEmpty ? "schema up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every role in one process against local RabbitMQ and PostgreSQL (see scripts/demo).")
    func run() async throws {
        try await run(roles: Set(Role.allCases), migrate: true)
    }
}

struct HashSecret: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-secret",
        abstract: "Read a write key or API token on standard input; print sha256:<hex> for CAIRN_WRITE_KEYS or CAIRN_API_TOKENS.",
        discussion: "One trailing line break is removed, so `printf %s KEY` and `echo KEY` give the same digest.")

    func run() async throws {
        var secret = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        if secret.hasSuffix("\r\n") || secret.hasSuffix("\n") { secret.removeLast() }  // "\r\n" is one Character
        guard !secret.isEmpty else { throw ValidationError("no secret on standard input") }
        print(SecretDigest(hashing: secret).encoded)
    }
}

struct Bench: AsyncParsableCommand {
    static func counts(_ text: String, option: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("\(option) must be positive whole numbers separated by commas, got \(text)")
        }
        return values.map { $0! }
    }

    static let configuration = CommandConfiguration(
        abstract: "Raw broker pass-through and end-to-end (AMQP to committed state) in one run; see scripts/bench.")

    @Option(help: "Events to send in each measurement.") var events = 20_000
    @Option(help: "Distinct accounts the events belong to; comma-separated for one run each (1000,100000).")
    var accounts = "1000"
    @Option(help: "Workers applying the events; comma-separated for one run each (1,2).") var workers = "1"
    @Option(help: "Write the result as JSON to this file.") var json: String?
    @Flag(help: "Only measure publishing with confirms to cairn.events (the baseline of scripts/bench-ingest).")
    var publishOnly = false
    @Option(help: "Signals per phase of the signal-to-task measurement (paced, then all at once); 0 skips it.")
    var signals = 5_000
    @Option(help: "Signals per second in the paced phase of the signal-to-task measurement.") var signalRate = 1_000
    @Flag(help: "Only the signal-to-task measurement.") var escalationOnly = false
    @Option(help: "Seconds of the event-to-health latency measurement at half the one-worker rate; 0 skips it.")
    var latencySeconds = 10
    @Flag(help: "Queue all events before the workers start, then time the drain (a backlog after an outage).")
    var backlog = false
    @Option(help: "Seconds of HTTP ingest load (POST /v1/batch of 100 events) beside raw publish, measured last; 0 skips it. Its events stay queued.")
    var httpSeconds = 10
    @Option(help: "Keep-alive connections of the HTTP ingest load.") var httpConnections = 32
    @Flag(help: "Store each --accounts count of accounts first (copies of accounts the pipeline wrote) and send each run's events to 1,000 of them: per-event cost against the customer base stored.")
    var stored = false
    @Option(help: "Seconds of a separate cairn worker process applying a steady stream (half the 1-worker rate) while its memory is read; 0 skips it.")
    var memorySeconds = 60

    /// Every option is checked before anything is measured: a mistake found after minutes of benchmark is costly.
    func validate() throws {
        guard events > 0 else { throw ValidationError("--events must be positive, got \(events)") }
        _ = try Self.counts(accounts, option: "--accounts")
        _ = try Self.counts(workers, option: "--workers")
        guard latencySeconds >= 0 else { throw ValidationError("--latency-seconds must be 0 or more, got \(latencySeconds)") }
        guard signals >= 0 else { throw ValidationError("--signals must be 0 or more, got \(signals)") }
        guard signalRate > 0 else { throw ValidationError("--signal-rate must be positive, got \(signalRate)") }
        guard !escalationOnly || signals > 0 else { throw ValidationError("--escalation-only needs --signals above 0") }
        guard httpSeconds >= 0 else { throw ValidationError("--http-seconds must be 0 or more, got \(httpSeconds)") }
        guard httpConnections > 0 else { throw ValidationError("--http-connections must be positive, got \(httpConnections)") }
        guard memorySeconds >= 0 else { throw ValidationError("--memory-seconds must be 0 or more, got \(memorySeconds)") }
    }

    func run() async throws {
        let settings = try loadSettings()
        var benchmark = PipelineBenchmark(settings: settings, logger: makeLogger(settings))
        benchmark.events = events
        benchmark.accountCounts = try Self.counts(accounts, option: "--accounts")
        benchmark.workerCounts = try Self.counts(workers, option: "--workers")
        benchmark.latencySeconds = latencySeconds
        benchmark.backlog = backlog
        benchmark.memorySeconds = memorySeconds
        benchmark.stored = stored
        if publishOnly {
            print(String(format: "raw publish with confirms: %.0f msg/s", try await benchmark.measurePublish()))
            return
        }
        var escalation = EscalationBenchmark(settings: settings, logger: makeLogger(settings))
        escalation.signals = signals
        escalation.rate = signalRate
        if escalationOnly {
            let result = try await escalation.run()
            printEscalation(result)
            try write(result)
            return
        }
        let result = try await benchmark.run()
        print("events \(result.events) per measurement, mean event \(result.meanEventBytes) bytes")
        for step in result.storing {
            print(String(format: "stored %d accounts (%d added: %d through the pipeline, the rest copied in SQL) in %.1f s",
                         step.accounts, step.added, step.applied, step.seconds))
        }
        print("| measurement | accounts | workers | seconds | rate (msg/s) | ratio to raw | per-event cost vs first run with as many workers |")
        print("|---|---|---|---|---|---|---|")
        print(String(format: "| raw broker pass-through (publish+confirm, consume+ack) | | | %.2f | %.0f | 1.00 | |", result.rawSeconds, result.rawMessagesPerSecond))
        print(String(format: "| work-queue pass-through (publish to cairn.events, consume+ack from the %d work queues) | | | %.2f | %.0f | %.2f | |",
                     CairnTopology.eventPartitions, result.workQueueSeconds, result.workQueueMessagesPerSecond,
                     result.workQueueMessagesPerSecond / result.rawMessagesPerSecond))
        for run in result.runs {
            let name = run.queueSeconds.map { String(format: "backlog drained (queued first in %.1f s, then the workers started)", $0) }
                ?? run.touchedAccounts.map { "end-to-end, accounts stored, events over \($0) of them" }
                ?? "end-to-end (AMQP publish to committed state)"
            print("| \(name) | " + String(format: "%d | %d | %.2f | %.0f | %.2f | %.2f |",
                         run.accounts, run.workers, run.seconds, run.eventsPerSecond, run.ratio, run.relativeCost))
        }
        if let latency = result.healthLatency {
            print("")
            print("| event to health committed (\(latency.pollMilliseconds) ms poll) | accounts | workers | offered (events/s) | events | p50 ms | p90 ms | p99 ms | max ms |")
            print("|---|---|---|---|---|---|---|---|---|")
            print("| half the 1-worker rate | \(latency.accounts) | \(latency.workers) | \(latency.offeredRate) | \(latency.events) | "
                + String(format: "%.1f | %.1f | %.1f | %.1f |", latency.latency.p50, latency.latency.p90, latency.latency.p99, latency.latency.max))
        }
        if let memory = result.workerMemory {
            print("")
            print("| worker memory: seconds | events applied | VmRSS MiB | VmHWM MiB |")
            print("|---|---|---|---|")
            for sample in memory.samples {
                print(String(format: "| %.0f | %d | %.1f | %.1f |", sample.seconds, sample.events, sample.residentMiB, sample.peakMiB))
            }
            print(String(format: "worker memory: %d events at %d/s over %d accounts in %.0f s; VmRSS %.1f MiB after the first quarter, %.1f at the end (%+.2f MiB per 100k events), peak %.1f; exit status on SIGTERM %d",
                         memory.events, memory.offeredRate, memory.accounts, memory.seconds, memory.warmResidentMiB,
                         memory.finalResidentMiB, memory.growthMiBPer100kEvents, memory.peakMiB, memory.exitStatus))
        }
        let escalationResult = signals > 0 ? try await escalation.run() : nil
        if let escalationResult { printEscalation(escalationResult) }
        var ingestResult: IngestReport?
        if httpSeconds > 0 {
            var ingest = IngestBenchmark(settings: settings, logger: makeLogger(settings))
            ingest.duration = .seconds(httpSeconds)
            ingest.connections = httpConnections
            let publish = try await benchmark.measurePublish()
            let http = try await ingest.run()
            ingestResult = IngestReport(rawPublishPerSecond: publish, http: http, ratio: http.eventsPerSecond / publish)
            printIngest(ingestResult!)
        }
        try write(BenchReport(pipeline: result, escalation: escalationResult, ingest: ingestResult))
    }

    /// Every measurement of a run, as `--json` writes them.
    struct BenchReport: Encodable {
        var pipeline: PipelineBenchmark.Result
        var escalation: EscalationBenchmark.Result?
        var ingest: IngestReport?
    }

    /// HTTP ingest beside publishing straight to the broker, measured one after the other in the same run.
    struct IngestReport: Encodable {
        var rawPublishPerSecond: Double
        var http: IngestBenchmark.Result
        var ratio: Double
    }

    func printIngest(_ report: IngestReport) {
        let http = report.http
        print("")
        print("| HTTP ingest (nothing consuming) | events/request | connections | requests | events/s | ratio to raw publish | p50 ms | p99 ms | non-2xx + errors |")
        print("|---|---|---|---|---|---|---|---|---|")
        print(String(format: "| raw publish with confirms to cairn.events (500 per call, 4 calls in flight) | | | | %.0f | 1.00 | | | |",
                     report.rawPublishPerSecond))
        print("| POST /v1/batch | \(http.batchSize) | \(http.connections) | \(http.requests) | "
            + String(format: "%.0f | %.2f | %.1f | %.1f | %d |", http.eventsPerSecond, report.ratio, http.latency.p50,
                     http.latency.p99, http.non2xx + http.errors))
    }

    func printEscalation(_ result: EscalationBenchmark.Result) {
        print("")
        print("| signal to task on the CSM queue | signals | offered (signals/s) | seconds | tasks/s | p50 ms | p90 ms | p99 ms | max ms |")
        print("|---|---|---|---|---|---|---|---|---|")
        for (name, phase) in [("paced", result.paced), ("all at once", result.burst)] {
            let offered = phase.offeredRate.map { "\($0)" } ?? "-"
            print("| \(name) | \(phase.signals) | \(offered) | "
                + String(format: "%.2f | %.0f | %.1f | %.1f | %.1f | %.1f |", phase.seconds, phase.tasksPerSecond,
                         phase.latency.p50, phase.latency.p90, phase.latency.p99, phase.latency.max))
        }
    }

    func write(_ report: some Encodable) throws {
        guard let json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: json))
    }
}

struct BenchHTTP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-http",
        abstract: "GET requests on keep-alive connections for a while, with the latency of every response; see scripts/bench-api.")

    @Argument(help: "http://host:port/path of the requests; with --paths, the host and port only.") var url: String
    @Option(help: "A file of paths (one per line) taken in turn instead of the URL's path.") var paths: String?
    @Option(help: "Connections, each sending its next request when the last is answered.") var connections = 8
    @Option(help: "Seconds to run.") var seconds = 10
    @Option(help: "A header to send, as 'Name: value'; repeatable.") var header: [String] = []

    func run() async throws {
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host else {
            throw ValidationError("expected http://host:port/path, got \(url)")
        }
        guard connections > 0, seconds > 0 else { throw ValidationError("--connections and --seconds must be positive") }
        let headers = try header.map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--header expects 'Name: value', got \(line)") }
            return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
        }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        var targets = [path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")]
        if let paths {
            targets = try String(contentsOfFile: paths, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            guard !targets.isEmpty else { throw ValidationError("\(paths) has no paths") }
        }
        let load = HTTPLoad(
            host: host, port: components.port ?? 80, paths: targets, headers: headers, connections: connections,
            duration: .seconds(seconds))
        let result = try await load.run()
        print(String(
            format: "RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f samples=%d non2xx=%d errors=%d",
            result.requests, result.seconds, result.latency.p50, result.latency.p99, result.latency.count, result.non2xx,
            result.errors))
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic customer base's event stream (deterministic) and its ground truth.")

    /// Where the events go: an NDJSON file, `cairn.events` on RabbitMQ (CAIRN_AMQP_URL) with confirms, or HTTP
    /// ingest as Segment batch calls.
    enum Destination: String, ExpressibleByArgument, CaseIterable {
        case ndjson, amqp, http
    }

    @Option(help: "Accounts in the customer base.") var accounts = 2_000
    @Option(help: "Simulated days.") var days = 180
    @Option(help: "Seed: the same seed and options give the same events, byte for byte.") var seed: UInt64 = 1
    @Option(help: "First simulated day (ISO date, UTC).") var start = "2026-01-01"
    @Option(help: "Where the events go: ndjson (a file), amqp (cairn.events, with confirms) or http (cairn ingest's /v1/batch).")
    var via: Destination = .ndjson
    @Option(help: "With --via http: ingest's base URL (default http://127.0.0.1:CAIRN_INGEST_PORT).") var ingestURL: String?
    @Option(help: "With --via http: the write key to send.") var writeKey = "dev-write-key"
    @Option(help: "Simulated seconds per real second (86400: a day a second). Without it, as fast as the output takes the events; timestamps are the simulated ones either way.")
    var speed: Double?
    @Option(help: "Scale of product usage (1 is realistic; lower makes smaller streams).") var usageScale = 1.0
    @Option(help: "The NDJSON file to write the events to ('-' for standard output).") var out: String?
    @Option(help: "Write the ground truth (JSON) to this file.") var truth: String?

    func validate() throws {
        if accounts < 1 { throw ValidationError("--accounts must be at least 1") }
        if !(usageScale >= 0) { throw ValidationError("--usage-scale must not be negative") }
        if days < 1 { throw ValidationError("--days must be at least 1") }
        if SimulationConfiguration.date(fromISODay: start) == nil {
            throw ValidationError("--start must be an ISO date such as 2026-01-01, got \(start)")
        }
        if via == .ndjson, out == nil { throw ValidationError("--via ndjson needs --out FILE.ndjson (or --out - for standard output)") }
        if let speed, !(speed > 0) { throw ValidationError("--speed must be a positive number of simulated seconds per second") }
        if let ingestURL, URL(string: ingestURL)?.scheme?.hasPrefix("http") != true {
            throw ValidationError("--ingest-url must be an http(s) URL such as http://127.0.0.1:8081, got \(ingestURL)")
        }
    }

    func run() async throws {
        var configuration = SimulationConfiguration(
            accounts: accounts, days: days, seed: seed, start: SimulationConfiguration.date(fromISODay: start)!)
        configuration.usageScale = usageScale
        let clock = ContinuousClock()
        let began = clock.now
        let simulation = try Simulation(configuration: configuration)
        if let truth { try simulation.groundTruth.encoded().write(to: URL(fileURLWithPath: truth)) }
        let bar = ProgressBar.onStandardError(total: days)
        let progress = { (day: SimulatedDay, written: Int) in bar.update(done: day.index + 1, detail: "\(written) events") }
        let speed = self.speed
        // Paced to --speed, or as fast as the sink takes the events.
        func write(to sink: some EventSink) async throws -> Int {
            if let speed { return try await simulation.write(to: PacedSink(sink, speed: speed), progress: progress) }
            return try await simulation.write(to: sink, progress: progress)
        }
        let events: Int
        switch via {
        case .ndjson:
            events = try await write(to: try NDJSONWriter(path: out ?? "-"))
        case .amqp:
            let settings = try loadSettings()
            let logger = makeLogger(settings)
            let connection = AMQPConnection(configuration: settings.amqp, topology: CairnTopology.core, logger: logger)
            events = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.run() }
                defer { group.cancelAll() }
                try await connection.declare(CairnTopology.core)
                return try await write(to: AMQPEventSink(connection: connection, logger: logger))
            }
        case .http:
            let settings = try loadSettings()
            let base = ingestURL ?? "http://127.0.0.1:\(settings.ingestPort)"
            events = try await write(
                to: HTTPEventSink(ingest: URL(string: base)!, writeKey: writeKey, sendsArrival: settings.clock == .stream))
        }
        bar.finish()
        let elapsed = clock.now - began
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let summary = String(
            format: "%d events, %d accounts, %d days in %.2f s (%.0f events/s)", events, accounts, days, seconds,
            Double(events) / max(seconds, 1e-9))
        if out == "-" { FileHandle.standardError.write(Data((summary + "\n").utf8)) } else { print(summary) }
    }
}

struct Evaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "How well health and signals predicted the simulated fates: per band, ROC AUC, precision/recall, lead time.")

    @Option(help: "The ground truth written by `cairn simulate --truth`.") var truth: String
    @Option(help: "Days before each account's fate at which its score is read.") var leadDays = 30
    @Option(help: "Also write the evaluation as JSON to this file.") var json: String?

    func run() async throws {
        let settings = try loadSettings()
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: truth))
        } catch {
            throw ValidationError("--truth \(truth): cannot be read (\(error.localizedDescription))")
        }
        let groundTruth = try GroundTruth.parse(data)
        let (lead, logger) = (leadDays, makeLogger(settings))
        let report = try await withStore(settings: settings, logger: logger) { store in
            try await SimulationReport.make(truth: groundTruth, store: store, leadDays: lead, logger: logger)
        }
        print(report.text())
        if let json { try Data(report.evaluation.json()).write(to: URL(fileURLWithPath: json)) }
    }
}
