import CairnAMQP
import CairnApp
import CairnCore
import CairnSimulator
import CairnStore
import CairnTesting
import CairnWorker
import Foundation
import Glibc
import PostgresNIO
import Synchronization
import Testing

/// A RabbitMQ and a PostgreSQL of the fault suite's own (`scripts/local-infra`, on ports of its own), which it stops
/// and starts without disturbing the servers every other test shares.
struct PrivateServers: Sendable {
    let environment: [String: String]
    let servers: TestServers

    static func start() async throws -> PrivateServers {
        let settings = TestInfrastructure.environment
        func port(_ name: String, _ fallback: Int) -> String { settings["CAIRN_TEST_FAULT_\(name)_PORT"] ?? String(fallback) }
        let environment = instanceEnvironment(
            directory: settings["CAIRN_TEST_FAULT_LOCAL_DIR"] ?? ".local/fault-infra", amqp: port("AMQP", 5676),
            management: port("AMQP_MGMT", 15676), distribution: port("AMQP_DIST", 25676), epmd: port("EPMD", 4376),
            postgres: port("PG", 5436))
        let servers = TestServers(
            amqpURL: "amqp://guest:guest@127.0.0.1:\(environment["CAIRN_AMQP_PORT"]!)/%2f",
            managementURL: "http://guest:guest@127.0.0.1:\(environment["CAIRN_AMQP_MGMT_PORT"]!)",
            databaseURL: "postgres://cairn:cairn@127.0.0.1:\(environment["CAIRN_PG_PORT"]!)/cairn")
        let instance = PrivateServers(environment: environment, servers: servers)
        try await instance.infra("start")
        return instance
    }

    /// The environment for `scripts/local-infra` to run one instance in `directory` on these ports.
    static func instanceEnvironment(
        directory: String, amqp: String, management: String, distribution: String, epmd: String, postgres: String
    ) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["CAIRN_LOCAL_DIR"] = directory
        environment["CAIRN_AMQP_PORT"] = amqp
        environment["CAIRN_AMQP_MGMT_PORT"] = management
        environment["CAIRN_AMQP_DIST_PORT"] = distribution
        environment["CAIRN_EPMD_PORT"] = epmd
        environment["CAIRN_PG_PORT"] = postgres
        // No TLS listeners here: the shared test servers hold the TLS port scripts/test exports.
        environment["CAIRN_TLS"] = "0"
        environment["CAIRN_AMQPS_PORT"] = nil
        environment["CAIRN_AMQP_JOIN"] = nil
        return environment
    }

    /// Runs `scripts/local-infra <arguments>` for this instance (for example `stop rabbitmq`) and waits for it.
    func infra(_ arguments: String...) async throws {
        // Output to a file, not a pipe: the servers it starts keep their inherited descriptors open for good.
        let log = TestInfrastructure.artifacts.appendingPathComponent("logs/fault-infra.log")
        try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        try handle.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "scripts/local-infra")
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        guard await Self.reap(process) == 0 else {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw TestError("local-infra \(arguments.joined(separator: " ")) failed:\n\(text.suffix(3_000))")
        }
    }
}

/// Three RabbitMQ nodes clustered on loopback (`scripts/local-infra` with `CAIRN_AMQP_JOIN`), made afresh for the
/// node-kill fault and stopped after it. The roles get all three nodes' URLs and move to another node when theirs
/// goes away; every Cairn queue is a quorum queue with a replica on each node.
struct BrokerCluster: Sendable {
    let nodes: [PrivateServers]
    let names: [String]

    static func start(databaseURL: String) async throws -> BrokerCluster {
        let settings = TestInfrastructure.environment
        let base = Int(settings["CAIRN_TEST_FAULT_CLUSTER_AMQP_PORT"] ?? "") ?? 5677
        let epmd = settings["CAIRN_TEST_FAULT_CLUSTER_EPMD_PORT"] ?? "4377"
        let seed = ".local/fault-cluster-1"
        var nodes: [PrivateServers] = []
        for index in 0..<3 {
            let port = base + index
            var environment = PrivateServers.instanceEnvironment(
                directory: ".local/fault-cluster-\(index + 1)", amqp: String(port), management: String(port + 10_000),
                distribution: String(port + 20_000), epmd: epmd,
                postgres: "1")  // these instances run no PostgreSQL (only `start rabbitmq`); the suite's serves them
            if index > 0 { environment["CAIRN_AMQP_JOIN"] = seed }
            let node = PrivateServers(
                environment: environment,
                servers: TestServers(
                    amqpURL: "amqp://guest:guest@127.0.0.1:\(port)/%2f", managementURL: "http://guest:guest@127.0.0.1:\(port + 10_000)",
                    databaseURL: databaseURL))
            nodes.append(node)
            do {
                // A fresh cluster every time: a cluster's nodes stopped in some order must start again in the reverse one.
                try await node.infra("reset")
                try await node.infra("start", "rabbitmq")
            } catch {
                for started in nodes.reversed() { try? await started.infra("stop") }
                throw error
            }
        }
        return BrokerCluster(nodes: nodes, names: (0..<3).map { "cairn-\(base + $0)@localhost" })
    }

    /// The cluster as test servers: every node's URL, in order; the management API of the last node (never killed).
    var servers: TestServers {
        TestServers(
            amqpURL: nodes.map(\.servers.amqpURL).joined(separator: ","), managementURL: nodes[2].servers.managementURL,
            databaseURL: nodes[0].servers.databaseURL)
    }

    /// kill -9 of node `index`'s Erlang VM, by the pid its start recorded; returns once the process is gone.
    func kill(node index: Int) async throws {
        let directory = nodes[index].environment["CAIRN_LOCAL_DIR"]!
        let text = try String(contentsOfFile: "\(directory)/rabbitmq/rabbitmq.pid", encoding: .utf8)
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else {
            throw TestError("no pid in \(directory)/rabbitmq/rabbitmq.pid")
        }
        guard Glibc.kill(pid, SIGKILL) == 0 else { throw TestError("kill -9 \(pid) failed: errno \(errno)") }
        for _ in 0..<200 {
            if processHasEnded(pid) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestError("node \(names[index]) (pid \(pid)) still runs 10 s after kill -9")
    }

    func stop() async {
        for node in nodes.reversed() { try? await node.infra("stop") }
    }
}

extension PrivateServers {
    /// Waits for `process` and returns its exit status. It reaps the child itself: Foundation was seen to leave this
    /// script (whose servers outlive it) a zombie and wait for ever.
    static func reap(_ process: Process) async -> Int32 {
        let pid = process.processIdentifier
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if result == -1 {
                // Foundation reaped it first; it knows the status.
                return await process.exited()
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// One fault the suite injects into a run of the pipeline.
enum Fault: Sendable, Hashable {
    /// No fault: the reference every other run must end equal to.
    case none
    /// kill -9 of a worker, `times` times, each restarted at once (two workers run).
    case killWorker(times: Int)
    /// kill -9 of an escalator, `times` times, each restarted at once (two escalators run).
    case killEscalator(times: Int)
    /// The stream goes through HTTP ingest, which is killed with -9 `times` times with requests in flight.
    case killIngest(times: Int)
    /// RabbitMQ stopped mid-stream for a few seconds, then started again; the roles are left alone.
    case restartBroker
    /// The same, with the stream sent through HTTP ingest: ingest answers 503 while the broker is away, and the
    /// client sends those batches again, as the Segment libraries do.
    case restartBrokerUnderIngest
    /// PostgreSQL stopped (its sessions ended mid-transaction) for a few seconds, then started again.
    case restartDatabase
    /// Every message published twice, in shuffled order.
    case duplicateAndReorder
    /// 1% poison messages (malformed JSON, wrong types, unknown kinds, oversized) mixed into the stream.
    case poison
    /// The whole stream queued while no worker runs, then drained.
    case backlog
    /// kill -9 of the RabbitMQ node every role is connected to and that leads the queues, in a three-node cluster;
    /// restarted after `downSeconds`. The roles must move to the other nodes by themselves, and the quorum queues
    /// must go on working on two nodes meanwhile.
    case killBrokerNode(downSeconds: Int)
    /// A slow consumer at its worst: a worker frozen (SIGSTOP) in the middle of a batch's transaction for `seconds`,
    /// `times` times, then resumed (SIGCONT), as a stalled VM, a long pause or a network cut to the database would
    /// freeze it. PostgreSQL must end the idle transaction (`CAIRN_IDLE_TRANSACTION_TIMEOUT`), so that its row
    /// locks do not stall the other worker; the frozen worker's batch then fails, is retried, and is applied once.
    case freezeWorker(times: Int, seconds: Int)

    var name: String {
        switch self {
        case .none: "none (reference)"
        case .killWorker: "kill -9 worker mid-batch"
        case .killEscalator: "kill -9 escalator"
        case .killIngest: "kill -9 ingest, requests in flight"
        case .restartBroker: "RabbitMQ stopped and restarted"
        case .restartBrokerUnderIngest: "RabbitMQ stopped and restarted, stream through ingest"
        case .restartDatabase: "PostgreSQL stopped mid-transaction and restarted"
        case .duplicateAndReorder: "100% duplicated and reordered"
        case .poison: "1% poison messages"
        case .backlog: "backlog queued, workers started after"
        case .killBrokerNode(let seconds): "kill -9 of a RabbitMQ node (3-node cluster), restarted after \(seconds) s or more"
        case .freezeWorker(_, let seconds): "slow consumer: worker frozen (SIGSTOP) mid-transaction for \(seconds) s"
        }
    }

    /// A short name, for `CAIRN_FAULT_ONLY`.
    var key: String {
        switch self {
        case .none: "none"
        case .killWorker: "kill-worker"
        case .killEscalator: "kill-escalator"
        case .killIngest: "kill-ingest"
        case .restartBroker: "restart-broker"
        case .restartBrokerUnderIngest: "restart-broker-ingest"
        case .restartDatabase: "restart-database"
        case .duplicateAndReorder: "duplicate"
        case .poison: "poison"
        case .backlog: "backlog"
        case .killBrokerNode: "kill-broker-node"
        case .freezeWorker: "freeze-worker"
        }
    }

    /// Whether the fault freezes a worker.
    var freezes: Bool {
        if case .freezeWorker = self { true } else { false }
    }

    /// Whether the stream goes through HTTP ingest (the fault is ingest's, or one ingest must answer).
    var throughIngest: Bool {
        switch self {
        case .killIngest, .restartBrokerUnderIngest: true
        default: false
        }
    }
}

/// What a run produced, compared with the reference run.
struct FaultOutcome: Sendable {
    var fault: Fault
    var injected: String
    var events: Int
    var messages: Int
    var acknowledged: Int
    var applied: Int
    var lost: Int
    var duplicated: Int
    var state: [String: String]
    /// Each open play ("account/playbook") with its trigger ("kind at"), to show why a run's plays differ from the
    /// reference's.
    var playTriggers: [String: String]
    var openPlays: Set<String> { Set(playTriggers.keys) }
    var duplicatePlays: Int
    var tasksUnpublished: Int
    var poisonSent: Int
    var deadLettered: Int
    var deadWithoutReason: Int
    var goodDeadLettered: Int
    var seconds: Double
    /// Band per account after the final sweep: compared apart, see `bandsAgree`.
    var bands: [String: (band: String, score: Int)] = [:]
    var restarts: [Int32] = []
    var stateMatches = false
    var bandsDiffering = 0
    var bandsDifferingOutsideMargin = 0
    /// Through ingest: batches the client had to send again (503 while the broker was away, ingest killed).
    var batchesRetried = 0
    /// A fault with a check of its own (a cluster node killed, a worker frozen): whether the pipeline went on
    /// meanwhile and recovered as it must. nil for every other fault.
    var faultHeld: Bool?

    /// Every role that ended by itself did so through the watchdog (status 75), never by crashing.
    var noCrash: Bool { restarts.allSatisfy { $0 == Watchdog.exitStatus } }

    var passed: Bool { failures.isEmpty }

    /// Each invariant this run broke, in words; empty when it passed.
    var failures: [String] {
        var broken: [String] = []
        if lost > 0 { broken.append("\(lost) events lost") }
        if duplicated > 0 { broken.append("\(duplicated) events applied twice") }
        if applied != events { broken.append("\(applied) of \(events) events applied") }
        if !stateMatches { broken.append("final journeys or health differ from the reference") }
        if bandsDifferingOutsideMargin > 0 { broken.append("\(bandsDifferingOutsideMargin) bands differ outside the hysteresis margin") }
        if duplicatePlays > 0 { broken.append("\(duplicatePlays) duplicate tasks") }
        if tasksUnpublished > 0 { broken.append("\(tasksUnpublished) tasks never published") }
        if deadLettered != poisonSent { broken.append("\(deadLettered) dead-lettered of \(poisonSent) poison messages") }
        if deadWithoutReason > 0 { broken.append("\(deadWithoutReason) dead letters without a reason") }
        if goodDeadLettered > 0 { broken.append("\(goodDeadLettered) good events dead-lettered") }
        if !noCrash { broken.append("a role crashed (exit statuses \(restarts))") }
        // With the broker away, ingest must have refused batches (503) that the client then sent again.
        if fault == .restartBrokerUnderIngest && batchesRetried == 0 { broken.append("no ingest batch was refused and sent again") }
        // With one node of three down, the pipeline went on (quorum queues on two nodes, roles moved over); with
        // a worker frozen, PostgreSQL ended its transaction and the other worker went on.
        if faultHeld == false { broken.append("the pipeline did not go on during the fault (see the injected column)") }
        // A frozen worker's failed batch is retried at once; it must not need its watchdog to come back.
        if fault.freezes && !restarts.isEmpty { broken.append("a frozen worker needed its watchdog (exit statuses \(restarts))") }
        return broken
    }
}

/// The roles of one run as child processes, each slot restartable.
final class RoleSet: Sendable {
    private let slots: Mutex<[String: CairnProcess]> = Mutex([:])
    private let restarts: Mutex<[String: Int]> = Mutex([:])
    let environment: [String: String]
    let label: String

    init(environment: [String: String], label: String) {
        self.environment = environment
        self.label = label
    }

    func start(_ role: String, slot: Int) throws {
        let key = "\(role)-\(slot)"
        let generation = restarts.withLock { counts in
            counts[key, default: -1] += 1
            return counts[key]!
        }
        let process = try CairnProcess([role], environment: environment, logName: "faults-\(label)-\(key)-\(generation)")
        slots.withLock { $0[key] = process }
    }

    /// kill -9, then a fresh process in the same slot.
    func killAndRestart(_ role: String, slot: Int) throws {
        let key = "\(role)-\(slot)"
        // Out of the supervisor's sight while it dies: this is an injected fault, not a crash.
        let process = slots.withLock { $0.removeValue(forKey: key) }
        process?.kill()
        try start(role, slot: slot)
    }

    var processes: [CairnProcess] { slots.withLock { Array($0.values) } }

    /// The pid of the process in a slot now.
    func pid(_ role: String, slot: Int) -> Int32? { slots.withLock { $0["\(role)-\(slot)"]?.pid } }

    /// Exit statuses of roles that ended by themselves, which the supervisor restarted.
    private let exits: Mutex<[Int32]> = Mutex([])
    var ownExits: [Int32] { exits.withLock { $0 } }

    /// Acts as the deployment's supervisor (compose `restart:`, a Kubernetes pod): starts again any role that
    /// ended by itself, and remembers how it ended. Runs until cancelled.
    func supervise() async {
        while !Task.isCancelled {
            let ended = slots.withLock { $0.filter { !$0.value.isRunning } }
            for (key, process) in ended {
                exits.withLock { $0.append(process.process.terminationStatus) }
                let parts = key.split(separator: "-")
                try? start(String(parts[0]), slot: Int(parts[1]) ?? 0)
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    func stopAll() async -> [Int32] {
        var statuses: [Int32] = []
        for process in processes { statuses.append(await process.terminate()) }
        return statuses
    }

    func logs() -> String {
        processes.map { String($0.log.suffix(1_500)) }.joined(separator: "\n---\n")
    }
}

/// Drives a known event stream through the real pipeline while injecting one fault, then checks it against the
/// fault-free run of the same stream.
struct FaultRun {
    let fault: Fault
    let stream: [AccountEvent]
    let servers: PrivateServers
    /// The three-node cluster the node-kill fault runs on (with the suite's PostgreSQL); nil for every other fault.
    var cluster: BrokerCluster? = nil

    static let chunk = 100
    /// `CAIRN_IDLE_TRANSACTION_TIMEOUT` of the frozen-worker run, in seconds: shorter than the freeze.
    static let idleTimeout = 3

    func run() async throws -> FaultOutcome {
        let started = ContinuousClock.now
        let environment = try await IsolatedEnvironment.make("faults", on: cluster?.servers ?? servers.servers)
        var processEnvironment = environment.processEnvironment()
        processEnvironment["CAIRN_CLOCK"] = "stream"
        processEnvironment["CAIRN_SWEEP_INTERVAL"] = "1"  // escalators sweep all along, as in production
        processEnvironment["CAIRN_BATCH_TIMEOUT"] = "20"
        processEnvironment["CAIRN_SHUTDOWN_TIMEOUT"] = "10"  // within the 15 s the final SIGTERM waits
        if case .freezeWorker = fault { processEnvironment["CAIRN_IDLE_TRANSACTION_TIMEOUT"] = String(FaultRun.idleTimeout) }
        let ingestPort = try freePort()
        processEnvironment["CAIRN_INGEST_PORT"] = String(ingestPort)
        let roles = RoleSet(environment: processEnvironment, label: environment.name)
        if fault != .backlog {
            for slot in 0..<2 { try roles.start("worker", slot: slot) }
        }
        for slot in 0..<2 { try roles.start("escalator", slot: slot) }
        if fault.throughIngest { try roles.start("ingest", slot: 0) }

        let messages = plannedMessages()
        let goodIDs = Set(stream.map(\.messageId))
        let acknowledged = Shared<Set<String>>([])
        let injected = Shared(0)
        let retries = Shared(0)
        let whileDown = Shared<(held: Bool, detail: String)?>(nil)

        let supervisor = Task { await roles.supervise() }
        defer { supervisor.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                if fault.throughIngest {
                    try await sendOverHTTP(port: ingestPort, acknowledged: acknowledged, retries: retries, injected: injected)
                } else {
                    try await publish(messages, environment: environment, acknowledged: acknowledged)
                }
            }
            group.addTask {
                try await inject(
                    roles: roles, environment: environment, injected: injected, acknowledged: acknowledged, whileDown: whileDown)
            }
            try await group.waitForAll()
        }
        if fault == .backlog {
            // The whole stream waits on the queue; only now do the workers start.
            for slot in 0..<2 { try roles.start("worker", slot: slot) }
            injected.withLock { $0 += 1 }
        }

        let settled = try await environment.withStore { store in
            await eventually(timeout: .seconds(300), every: .milliseconds(200)) {
                let applied = try? await store.integer("SELECT count(*)::int8 FROM events")
                let unsent = try? await store.unsentOutboxCount(logger: store.testLogger)
                let pending = try? await store.integer(
                    """
                    SELECT count(*)::int8 FROM outbox o WHERE o.exchange = 'cairn.signals'
                    AND NOT EXISTS (SELECT 1 FROM processed_messages p WHERE p.message_id = o.message_id)
                    """)
                return applied == goodIDs.count && unsent == 0 && pending == 0
            }
        }
        supervisor.cancel()
        // Duplicates and poison are extra messages; every other fault counts its injections.
        let extra = messages.count - stream.count
        var outcome = try await measure(
            environment: environment, goodIDs: goodIDs, acknowledged: acknowledged.withLock { $0 },
            poisonSent: fault == .poison ? extra : 0)
        outcome.restarts = roles.ownExits
        outcome.messages = messages.count
        outcome.injected = extra > 0 ? "\(extra) messages" : "\(injected.withLock { $0 })×"
        if let (held, detail) = whileDown.withLock({ $0 }) {
            outcome.faultHeld = held
            outcome.injected += " (\(detail))"
        }
        if fault.throughIngest {
            outcome.batchesRetried = retries.withLock { $0 }
            outcome.injected += " (\(outcome.batchesRetried) batches sent again)"
        }
        outcome.seconds = (ContinuousClock.now - started) / .seconds(1)
        let statuses = await roles.stopAll()
        // A role whose shutdown outlived CAIRN_SHUTDOWN_TIMEOUT ended through the deadline (75): counted with the
        // watchdog's exits. Anything else but 0 (a crash, or SIGKILL after the wait) fails the run.
        outcome.restarts += statuses.filter { $0 == Watchdog.exitStatus }
        if !settled || statuses.contains(where: { $0 != 0 && $0 != Watchdog.exitStatus }) {
            Issue.record("\(fault.name): settled \(settled), exit statuses at the end \(statuses)\n\(roles.logs())")
        }
        await environment.tearDown()
        return outcome
    }

    // MARK: - The stream as sent

    /// The messages to publish: the stream, or the stream with duplicates, reordering or poison mixed in.
    func plannedMessages() -> [AMQPMessage] {
        var random = BadInputGenerator.Random(state: 42)
        let good = stream.map { event in
            AMQPMessage(exchange: CairnTopology.events, routingKey: event.routingKey, body: event.encoded(), messageID: event.messageId)
        }
        switch fault {
        case .duplicateAndReorder:
            // Shuffled within windows, so an event can arrive after ones a few seconds of stream time later.
            var doubled = good.flatMap { [$0, $0] }
            for window in stride(from: 0, to: doubled.count, by: 2_000) {
                let end = min(window + 2_000, doubled.count)
                for index in stride(from: end - 1, to: window, by: -1) {
                    doubled.swapAt(index, window + Int(random.next() % UInt64(index - window + 1)))
                }
            }
            return doubled
        case .poison:
            var mixed: [AMQPMessage] = []
            for (index, message) in good.enumerated() {
                mixed.append(message)
                if index % 100 == 50 { mixed.append(Self.poisonMessage(number: index / 100, account: message.routingKey)) }
            }
            return mixed
        default:
            return good
        }
    }

    /// A message no worker can apply, of one of four kinds in turn; its id starts with `poison-`.
    static func poisonMessage(number: Int, account: String) -> AMQPMessage {
        let id = "poison-\(number)"
        let body: String
        switch number % 4 {
        case 0: body = #"{"messageId":"\#(id)","type":"track","event":"x","accountId":"\#(account)","timestamp":"2026-03-0"#
        case 1: body = #"{"messageId":"\#(id)","type":"track","event":"x","accountId":["\#(account)"],"timestamp":"2026-03-02T10:00:00Z"}"#
        case 2: body = #"{"messageId":"\#(id)","type":"alias","accountId":"\#(account)","timestamp":"2026-03-02T10:00:00Z"}"#
        default:
            let padding = String(repeating: "p", count: AccountEvent.maxEncodedBytes)
            body = #"{"messageId":"\#(id)","type":"track","event":"x","accountId":"\#(account)","timestamp":"2026-03-02T10:00:00Z","properties":{"blob":"\#(padding)"}}"#
        }
        return AMQPMessage(exchange: CairnTopology.events, routingKey: account, body: Array(body.utf8), messageID: id)
    }

    static let logger = TestInfrastructure.logger("cairn.test.faults")

    /// Publishes in chunks with confirms, paced so that faults land mid-stream; a chunk that fails (broker away) is
    /// sent again until confirmed, as any producer must.
    func publish(_ messages: [AMQPMessage], environment: IsolatedEnvironment, acknowledged: Shared<Set<String>>) async throws {
        try await environment.withAMQP { connection in
            for start in stride(from: 0, to: messages.count, by: Self.chunk) {
                let chunk = Array(messages[start..<min(start + Self.chunk, messages.count)])
                var attempts = 0
                let began = ContinuousClock.now
                while true {
                    do {
                        try await connection.publish(chunk)
                        break
                    } catch {
                        attempts += 1
                        // The first failure of a chunk and every 50th after it, to see how long a fault held publishing up.
                        if attempts % 50 == 1 {
                            Self.logger.warning("test publisher: chunk at \(start) failed (attempt \(attempts)): \(error)")
                        }
                        guard attempts < 600 else { throw TestError("publish kept failing: \(error)") }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                let took = ContinuousClock.now - began
                if attempts > 0 || took > .seconds(1) {
                    Self.logger.warning("test publisher: chunk at \(start) confirmed after \(attempts) failures and \(took)")
                }
                acknowledged.withLock { $0.formUnion(chunk.compactMap(\.messageID)) }
                try await Task.sleep(for: publishPause)
            }
        }
    }

    /// The pause after each published chunk. The frozen-worker row spreads the stream over its freezes, so that the
    /// other worker always has new events to apply while one is frozen (the two drain the short stream in a few
    /// seconds otherwise). The node-kill row publishes 500 events a second, slower than the workers apply them, so
    /// that events are still being published when the node dies and the backlog is small enough for those published
    /// through the other nodes to be applied while it is down (published at full speed, the short stream was all
    /// queued before the kill in one CI run, and the row could not tell). Every other row publishes as fast as the
    /// broker takes it.
    var publishPause: Duration {
        switch fault {
        case .freezeWorker(let times, let seconds):
            let chunks = max(1, (stream.count + Self.chunk - 1) / Self.chunk)
            return .seconds((times + 1) * (seconds + 4)) / chunks
        case .killBrokerNode:
            return .milliseconds(200)
        default:
            return .milliseconds(15)
        }
    }

    /// Sends the stream to ingest as Segment batches of `chunk` events, four requests in flight, through the
    /// product's `HTTPEventSink` (as `cairn simulate --via http` does): a batch refused by a killed or restarting
    /// ingest is sent again until answered 200, as the Segment libraries do. Each sender waits 100 ms (300 ms while
    /// the broker is restarted) after each answered batch, so the stream takes a few seconds and the faults, placed by what is acknowledged, land
    /// while requests are being sent. `retries` counts the batches sent again.
    ///
    /// While the broker is restarted, the last third of the stream waits until the broker has been stopped
    /// (`injected`): on a loaded machine its command-line tool can take longer to stop it than the rest of the
    /// stream takes to send, and then no batch would meet the broker away (the row requires that some do).
    func sendOverHTTP(
        port: Int, acknowledged: Shared<Set<String>>, retries: Shared<Int>, injected: Shared<Int>
    ) async throws {
        let chunks = stride(from: 0, to: stream.count, by: Self.chunk).map { Array(stream[$0..<min($0 + Self.chunk, stream.count)]) }
        let next = Shared(0)
        let ingest = URL(string: "http://127.0.0.1:\(port)")!
        let pause: Duration = fault == .restartBrokerUnderIngest ? .milliseconds(300) : .milliseconds(100)
        let heldFrom = fault == .restartBrokerUnderIngest ? chunks.count * 2 / 3 : chunks.count
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let sink = HTTPEventSink(ingest: ingest, writeKey: "dev-write-key", sendsArrival: true)
                    while true {
                        let index = next.withLock { value -> Int in
                            defer { value += 1 }
                            return value
                        }
                        guard index < chunks.count else {
                            let count = await sink.retries
                            retries.withLock { $0 += count }
                            return
                        }
                        if index >= heldFrom {
                            // Bounded, so a fault that never came (the row then fails on its own) cannot hang the run.
                            _ = await waitUntil(timeout: .seconds(120)) { injected.withLock { $0 } > 0 }
                        }
                        try await sink.write(chunks[index])
                        acknowledged.withLock { $0.formUnion(chunks[index].map(\.messageId)) }
                        try await Task.sleep(for: pause)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    // MARK: - Faults

    /// Injects the fault at points spread over the run, judged by how much of the stream is applied (or, when the
    /// stream goes through ingest, acknowledged to the client), so that every injection lands mid-stream.
    func inject(
        roles: RoleSet, environment: IsolatedEnvironment, injected: Shared<Int>, acknowledged: Shared<Set<String>>,
        whileDown: Shared<(held: Bool, detail: String)?>
    ) async throws {
        let total = stream.count
        func applied() async -> Int {
            (try? await environment.withStore { try await $0.integer("SELECT count(*)::int8 FROM events") }) ?? 0
        }
        func progress() async -> Int {
            fault.throughIngest ? acknowledged.withLock { $0.count } : await applied()
        }
        func tasks() async -> Int {
            (try? await environment.withStore { try await $0.integer("SELECT count(*)::int8 FROM tasks") }) ?? 0
        }
        switch fault {
        case .none, .duplicateAndReorder, .poison, .backlog:
            return
        case .freezeWorker(let times, let seconds):
            var results: [FreezeResult] = []
            for number in 1...times {
                let threshold = total * number / (times + 1)
                guard await waitUntil({ await applied() >= threshold }) else { break }
                guard let pid = roles.pid("worker", slot: number % 2) else { throw TestError("no worker in slot \(number % 2)") }
                results.append(try await freeze(pid: pid, for: seconds, environment: environment, applied: applied))
                injected.withLock { $0 += 1 }
            }
            let held = !results.isEmpty && results.allSatisfy(\.held)
            let ended = results.compactMap(\.endedAfter).map { String(format: "%.1f", $0) }.joined(separator: ", ")
            whileDown.withLock {
                $0 = (
                    held,
                    "frozen mid-transaction: \(results.filter(\.caught).count) of \(results.count); "
                        + "PostgreSQL ended the transaction after \(ended.isEmpty ? "none" : ended) s (idle timeout \(Self.idleTimeout) s); "
                        + "events applied meanwhile by the other worker: \(results.map { String($0.appliedMeanwhile) }.joined(separator: ", "))"
                )
            }
        case .killWorker(let times), .killIngest(let times):
            let role = fault == .killIngest(times: times) ? "ingest" : "worker"
            for number in 1...times {
                let threshold = total * number / (times + 1)
                guard await waitUntil({ await progress() >= threshold }) else { return }
                try roles.killAndRestart(role, slot: role == "ingest" ? 0 : number % 2)
                injected.withLock { $0 += 1 }
            }
        case .killEscalator(let times):
            // Each kill as soon as new tasks are being written: the moment between a task's row and its publish.
            for number in 1...times {
                let threshold = total * number / (times + 1)
                guard await waitUntil({ await applied() >= threshold }) else { return }
                let before = await tasks()
                _ = await waitUntil(timeout: .seconds(5)) { await tasks() > before }
                try roles.killAndRestart("escalator", slot: number % 2)
                injected.withLock { $0 += 1 }
            }
        case .restartBroker, .restartBrokerUnderIngest, .restartDatabase:
            let service = fault == .restartDatabase ? "postgres" : "rabbitmq"
            guard await waitUntil({ await progress() >= total / 3 }) else { return }
            try await servers.infra("stop", service)
            injected.withLock { $0 += 1 }
            try await Task.sleep(for: .seconds(3))
            try await servers.infra("start", service)
        case .killBrokerNode(let seconds):
            guard let cluster else { throw TestError("the node-kill fault needs a cluster") }
            guard await waitUntil({ await applied() >= total / 4 }) else { return }
            // Every role connected to the first node named, so the queues were declared there and it leads them.
            for queue in CairnTopology.eventQueues {
                let before = try await environment.quorumMembership(of: queue)
                guard Set(before.members) == Set(cluster.names), before.leader == cluster.names[0] else {
                    throw TestError("\(queue) before the kill: members \(before.members), leader \(before.leader)")
                }
            }
            // Probes, declared through the first node (which leads their queue) before the kill, tried after it:
            // which way in does the broker still confirm with a node down?
            let probe = Self.brokerProbe
            try await environment.withAMQP(topology: probe.topology) { _ in }
            try await cluster.kill(node: 0)
            injected.withLock { $0 += 1 }
            let killed = ContinuousClock.now
            let appliedAtKill = await applied()
            let acknowledgedAtKill = acknowledged.withLock { $0 }
            // The publisher sends one chunk at a time, in stream order: the chunk after the confirmed ones was in
            // flight at the kill (routed before it, perhaps, with its confirm lost).
            let inFlightAtKill = Set(stream.lazy.map(\.messageId).filter { !acknowledgedAtKill.contains($0) }.prefix(Self.chunk))
            try await Task.sleep(for: .seconds(3))  // the queues elect new leaders within a second
            let probes = await Self.tryProbes(probe, environment: environment)
            try await Task.sleep(for: .seconds(max(0, seconds - 3)))
            // Events published after the kill (through another node) and applied before the restart: only a pipeline
            // that went on without the node can have done that. The node stays down until there are some, for up to
            // a minute (the publisher and the workers reconnect, and the queues elect new leaders, meanwhile).
            // Two counts: events the broker confirmed to the publisher only after the kill (some were in flight at the
            // kill, routed before it), and of those, events the publisher sent after the kill, through a surviving
            // node, that the broker confirmed and a worker applied while the node was down: the ones that prove it.
            var throughOthers = 0
            var sentAfter = 0
            while true {
                let appliedIDs = (try? await environment.withStore { try await $0.strings("SELECT message_id FROM events") }) ?? []
                let late = appliedIDs.filter { !acknowledgedAtKill.contains($0) }
                throughOthers = late.count
                sentAfter = late.filter { !inFlightAtKill.contains($0) }.count
                guard sentAfter == 0, ContinuousClock.now - killed < .seconds(60) else { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            let downSeconds = (ContinuousClock.now - killed) / .seconds(1)
            let appliedDown = await applied() - appliedAtKill
            let during = try await environment.quorumMembership(of: CairnTopology.eventsWork(partition: 0))
            // Where the stream stood, to tell a publisher that could not go on from workers that did not consume.
            let acknowledgedDown = acknowledged.withLock { $0.count } - acknowledgedAtKill.count
            var ready = 0, consumers = 0
            for queue in CairnTopology.eventQueues {
                let membership = try? await environment.quorumMembership(of: queue)
                ready += membership?.ready ?? 0
                consumers += membership?.consumers ?? 0
            }
            let moved = try await environment.brokerConnections().filter { $0.node != cluster.names[0] }.count
            try await cluster.nodes[0].infra("start", "rabbitmq")
            // The restarted node rejoins, and its replica of every work queue is back among the online members.
            let restarted = ContinuousClock.now
            let rejoined = await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
                var online = true
                for queue in CairnTopology.eventQueues where online {
                    online = (try? await environment.quorumMembership(of: queue))?.online.count == cluster.names.count
                }
                return online
            }
            let rejoinSeconds = (ContinuousClock.now - restarted) / .seconds(1)
            // Two workers and two escalators at least must have moved to the other nodes.
            whileDown.withLock {
                $0 = (
                    moved >= 4 && sentAfter > 0 && rejoined,
                    String(format: "node down %.0f s: ", downSeconds)
                        + "\(appliedDown) events applied meanwhile, \(sentAfter) of them sent after the kill through the other "
                        + "nodes (\(throughOthers - sentAfter) more were in flight at the kill; \(acknowledgedDown) events confirmed "
                        + "to the publisher after the kill; \(ready) ready and \(consumers) consumers on the work queues before "
                        + "the restart; 3 s after the kill, a message on a new connection \(probes)), "
                        + "\(moved) connections on the other nodes, leader of cairn.events.work.0 \(during.leader), "
                        + "\(during.online.count) of \(during.members.count) replicas online; after the restart "
                        + (rejoined ? String(format: "all %d online again within %.0f s", cluster.names.count, rejoinSeconds)
                            : "**not all replicas online within 60 s**")
                )
            }
        }
    }

    /// A quorum queue of the probe's own, fed by a consistent-hash exchange, itself fed by a topic exchange: the shape of
    /// `cairn.events` in small, with no consumer.
    static let brokerProbe = (
        queue: "cairn.test.probe", hash: "cairn.test.probe.hash", topic: "cairn.test.probe.topic",
        topology: AMQPTopology(
            exchanges: [.init("cairn.test.probe.topic", kind: .topic), .init("cairn.test.probe.hash", kind: .consistentHash)],
            queues: [.quorum("cairn.test.probe")],
            bindings: [.init(queue: "cairn.test.probe", exchange: "cairn.test.probe.hash", routingKey: "1")],
            exchangeBindings: [.init(destination: "cairn.test.probe.hash", source: "cairn.test.probe.topic", routingKey: "#")]))

    /// Publishes one message each way into the probe's queue, on a fresh connection (the first node that answers), and
    /// says how each ended: "straight to the queue confirmed, through the hash exchange nacked, …".
    static func tryProbes(
        _ probe: (queue: String, hash: String, topic: String, topology: AMQPTopology), environment: IsolatedEnvironment
    ) async -> String {
        let ways = [("straight to the queue", "", probe.queue), ("through a consistent-hash exchange", probe.hash, "key"),
                    ("through a topic exchange and then the hash", probe.topic, "key")]
        var outcomes: [String] = []
        for (index, (way, exchange, key)) in ways.enumerated() {
            let message = AMQPMessage(exchange: exchange, routingKey: key, body: Array("probe".utf8), messageID: "probe-\(index)")
            let outcome: String
            do {
                outcome = try await environment.withAMQP(topology: AMQPTopology()) { connection in
                    try await withThrowingTaskGroup(of: String.self) { group in
                        group.addTask {
                            // A command fails at once while the connection is between nodes: try until it is on one.
                            while (try? await connection.declare(probe.topology)) == nil {
                                try await Task.sleep(for: .milliseconds(100))
                            }
                            try await connection.publish([message])
                            return "confirmed"
                        }
                        group.addTask {
                            try await Task.sleep(for: .seconds(5))
                            connection.close()  // ends a publish still waiting for its confirm
                            return "not answered within 5 s"
                        }
                        defer { group.cancelAll() }
                        return try await group.next() ?? "no answer"
                    }
                }
            } catch {
                outcome = "failed: \(error)"
            }
            outcomes.append("\(way) \(outcome)")
        }
        return outcomes.joined(separator: ", ")
    }

    /// What one freeze of a worker showed.
    struct FreezeResult {
        /// Whether the worker was stopped while its transaction was open (idle in transaction, as seen after the stop).
        var caught: Bool
        /// Seconds from the stop until PostgreSQL had ended that transaction; nil when it had not by the resume.
        var endedAfter: Double?
        /// Events applied while the worker was stopped: by the other worker, once the locks were free.
        var appliedMeanwhile: Int

        var held: Bool { caught && endedAfter != nil && appliedMeanwhile > 0 }
    }

    /// Stops the worker `pid` while it is in a transaction, keeps it stopped for `seconds`, and resumes it. A stop that
    /// finds it between transactions is undone at once and tried again, for up to 30 s.
    func freeze(
        pid: Int32, for seconds: Int, environment: IsolatedEnvironment, applied: () async -> Int
    ) async throws -> FreezeResult {
        let name = "cairn worker pid \(pid)"
        func idleInTransaction() async -> Bool {
            let count = try? await environment.withStore { store in
                try await store.integer(
                    "SELECT count(*)::int8 FROM pg_stat_activity WHERE application_name = \(name) AND state = 'idle in transaction'")
            }
            return (count ?? 0) > 0
        }
        func openTransaction() async -> Bool {
            let count = try? await environment.withStore { store in
                try await store.integer(
                    "SELECT count(*)::int8 FROM pg_stat_activity WHERE application_name = \(name) AND xact_start IS NOT NULL")
            }
            return (count ?? 0) > 0
        }
        var caught = false
        let deadline = ContinuousClock.now + .seconds(30)
        while !caught, ContinuousClock.now < deadline {
            guard await openTransaction() else {
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            kill(pid, SIGSTOP)
            // Stopped with its transaction open, the session shows "idle in transaction" once its last statement
            // is done; a session that was committing is gone from the transaction instead.
            try await Task.sleep(for: .milliseconds(200))
            caught = await idleInTransaction()
            if !caught { kill(pid, SIGCONT) }
        }
        guard caught else { return FreezeResult(caught: false, endedAfter: nil, appliedMeanwhile: 0) }
        defer { kill(pid, SIGCONT) }
        let stopped = ContinuousClock.now - .milliseconds(200)
        let before = await applied()
        let ended = await eventually(timeout: .seconds(seconds) - .milliseconds(200), every: .milliseconds(100)) {
            await !openTransaction()
        }
        let endedAfter = ended ? (ContinuousClock.now - stopped) / .seconds(1) : nil
        try await Task.sleep(until: stopped + .seconds(seconds))
        return FreezeResult(caught: true, endedAfter: endedAfter, appliedMeanwhile: await applied() - before)
    }

    private func waitUntil(timeout: Duration = .seconds(240), _ condition: () async -> Bool) async -> Bool {
        await eventually(timeout: timeout, every: .milliseconds(50), condition)
    }

    // MARK: - Measuring

    func measure(
        environment: IsolatedEnvironment, goodIDs: Set<String>, acknowledged: Set<String>, poisonSent: Int
    ) async throws -> FaultOutcome {
        let (applied, counted, openPlays, duplicatePlays, outbox) = try await environment.withStore { store in
            var applied: Set<String> = []
            for try await id in try await store.client.query("SELECT message_id FROM events").decode(String.self) {
                applied.insert(id)
            }
            // Each application of an event counts once on its account: more than the log holds means applied twice.
            let counted = try await store.integer("SELECT coalesce(sum(event_count), 0)::int8 FROM accounts")
            var plays: [String: String] = [:]
            for try await (account, playbook, kind, at) in try await store.client.query(
                "SELECT account_id, playbook, trigger->>'kind', trigger->>'at' FROM tasks WHERE status = 'open'"
            ).decode((String, String, String, String).self) {
                plays["\(account)/\(playbook)"] = "\(kind) \(at)"
            }
            let duplicates = try await store.integer(
                """
                SELECT count(*)::int8 FROM (SELECT account_id, playbook FROM tasks WHERE status = 'open'
                GROUP BY 1, 2 HAVING count(*) > 1) d
                """)
            var outbox: [String: Set<String>] = [:]
            for try await (key, id) in try await store.client.query(
                "SELECT routing_key, message_id FROM outbox WHERE exchange = 'cairn.tasks'"
            ).decode((String, String).self) {
                outbox[key, default: []].insert(id)
            }
            return (applied, counted, plays, duplicates, outbox)
        }
        let (state, bands) = try await finalState(environment)
        // Every task message the escalator wrote is on its queue (redeliveries share the id and are deduplicated).
        let (published, dead) = try await environment.withAMQP { connection in
            var published: Set<String> = []
            for (key, ids) in outbox {
                let queue = key == "outreach" ? CairnTopology.outreach : "\(CairnTopology.tasks).\(key)"
                // A loaded broker can be slow to start delivering: look again, up to 30 s, while some are not seen.
                let deadline = ContinuousClock.now + .seconds(30)
                var seen: Set<String> = []
                repeat {
                    let deliveries = await connection.peek(queue: queue, count: Int.max, timeout: .seconds(2))
                    seen.formUnion(deliveries.compactMap(\.messageID).filter(ids.contains))
                } while !seen.isSuperset(of: ids) && ContinuousClock.now < deadline
                published.formUnion(seen)
            }
            var dead: [AMQPDelivery] = []
            let deadline = ContinuousClock.now + .seconds(30)
            repeat {
                dead = await connection.peek(queue: CairnTopology.deadEvents, count: Int.max, timeout: .seconds(3))
            } while dead.count < poisonSent && ContinuousClock.now < deadline
            return (published, dead)
        }
        return FaultOutcome(
            fault: fault, injected: "", events: goodIDs.count, messages: 0, acknowledged: acknowledged.intersection(goodIDs).count,
            applied: applied.intersection(goodIDs).count, lost: acknowledged.intersection(goodIDs).subtracting(applied).count,
            duplicated: max(0, counted - applied.count), state: state, playTriggers: openPlays, duplicatePlays: duplicatePlays,
            tasksUnpublished: outbox.values.reduce(0) { $0 + $1.count } - published.count, poisonSent: poisonSent,
            deadLettered: dead.count, deadWithoutReason: dead.filter { ($0.headers["x-cairn-error"] ?? "").isEmpty }.count,
            goodDeadLettered: dead.filter { goodIDs.contains($0.messageID ?? "") }.count, seconds: 0, bands: bands)
    }

    /// Journeys and health once every account is evaluated at the same moment, the midnight more than a day after
    /// the stream's last event (the sweep every escalator runs, two days after that event). Without it an account's score is as of the batch its last event
    /// came in, and the stream clock at that batch depends on how batches fell: in a run with faults they fall
    /// differently. The band is returned apart: it has hysteresis, so it depends on the scores seen on the way.
    func finalState(_ environment: IsolatedEnvironment) async throws -> ([String: String], [String: (band: String, score: Int)]) {
        try await environment.withStore { store in
            let end = try await store.integer("SELECT (extract(epoch FROM max(occurred_at)) * 1000)::int8 FROM events")
            let now = Date(timeIntervalSince1970: Double(end) / 1000 + 2 * 86_400)
            // The escalators are still running and sweep every second: only one sweep runs at a time, and one that
            // finds another running does nothing, so sweep until a sweep that ran found nothing left to evaluate.
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                let outcome = try await store.sweep(now: now, logger: store.testLogger)
                if outcome.ran && outcome.accounts == 0 { break }
                guard ContinuousClock.now < deadline else { throw TestError("the final sweep did not complete in 60 s") }
                if !outcome.ran { try await Task.sleep(for: .milliseconds(20)) }
            }
            var state: [String: String] = [:]
            var bands: [String: (band: String, score: Int)] = [:]
            for try await (id, stage, history, milestones, score, band, count) in try await store.client.query(
                """
                SELECT a.account_id, j.stage, j.stage_history::text, j.milestones::text, h.score, h.band, a.event_count
                FROM accounts a JOIN journey j USING (account_id) JOIN health h USING (account_id)
                """
            ).decode((String, String, String, String, Int, String, Int).self) {
                state[id] = "\(stage) \(score) \(count) \(history) \(milestones)"
                bands[id] = (band, score)
            }
            return (state, bands)
        }
    }
}

/// A value shared between tasks, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}

/// The suite's table, in Markdown.
enum FaultReport {
    /// How many open plays one run has and the other has not, by the kind of signal that started them. Health
    /// signals are found at each batch's evaluation, so which ones a stream raises depends on how its batches fell.
    static func differingPlays(_ outcome: FaultOutcome, reference: FaultOutcome) -> String {
        let plays = outcome.openPlays.symmetricDifference(reference.openPlays)
        guard !plays.isEmpty else { return "none differ" }
        var kinds: [String: Int] = [:]
        for play in plays {
            let trigger = outcome.playTriggers[play] ?? reference.playTriggers[play] ?? "?"
            kinds[String(trigger.split(separator: " ").first ?? "?"), default: 0] += 1
        }
        let parts = kinds.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.value) \($0.key)" }
        return "\(plays.count) differ: \(parts.joined(separator: ", "))"
    }

    /// The open plays a run has and the reference has not, and the reverse, each with its trigger.
    static func playDifferences(_ outcome: FaultOutcome, reference: FaultOutcome) -> String {
        let extra = outcome.openPlays.subtracting(reference.openPlays).sorted()
        let missing = reference.openPlays.subtracting(outcome.openPlays).sorted()
        let changed = outcome.openPlays.intersection(reference.openPlays).sorted()
            .filter { outcome.playTriggers[$0] != reference.playTriggers[$0] }
        return (extra.map { "extra \($0) \(outcome.playTriggers[$0] ?? "")" }
            + missing.map { "missing \($0) \(reference.playTriggers[$0] ?? "")" }
            + changed.map { "trigger \($0) \(outcome.playTriggers[$0] ?? "") vs \(reference.playTriggers[$0] ?? "")" })
            .joined(separator: "\n") + "\n"
    }

    static let begin = "<!-- fault-suite:begin -->"
    static let end = "<!-- fault-suite:end -->"

    static func markdown(_ outcomes: [FaultOutcome], profile: String, stream: String, reference: FaultOutcome) -> String {
        var lines = [
            begin,
            "Profile `\(profile)`: \(stream). Produced by the fault suite (`FaultSuiteTests`), not by hand.",
            "",
            "| Fault | Injected | Events | Messages sent | Acknowledged | Applied | Lost | Duplicated | Journeys and scores = reference | Bands differing (all within the hysteresis margin?) | Open tasks (reference \(reference.openPlays.count)); plays that differ from the reference's, by the signal that started them | Duplicate tasks | Tasks not on their queue | Poison sent / dead-lettered with reason | Watchdog exits (status 75) | Seconds | Result |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for outcome in outcomes {
            let poison = outcome.poisonSent == 0 && outcome.deadLettered == 0
                ? "0 / 0" : "\(outcome.poisonSent) / \(outcome.deadLettered - outcome.deadWithoutReason)"
            lines.append(
                "| \(outcome.fault.name) | \(outcome.injected) | \(outcome.events) | \(outcome.messages) | \(outcome.acknowledged) | "
                    + "\(outcome.applied) | \(outcome.lost) | \(outcome.duplicated) | \(outcome.stateMatches ? "yes" : "**no**") | "
                    + "\(outcome.bandsDiffering) (\(outcome.bandsDifferingOutsideMargin == 0 ? "yes" : "**no**: \(outcome.bandsDifferingOutsideMargin) outside")) | "
                    + "\(outcome.openPlays.count)\(outcome.fault == .none ? "" : "; \(differingPlays(outcome, reference: reference))") | \(outcome.duplicatePlays) | \(outcome.tasksUnpublished) | \(poison) | "
                    + "\(outcome.restarts.isEmpty ? "0" : "\(outcome.restarts.count) (exit \(outcome.restarts.map(String.init).joined(separator: ", ")))") | "
                    + "\(String(format: "%.0f", outcome.seconds)) | \(outcome.passed ? "pass" : "**FAIL**") |")
        }
        lines.append(end)
        return lines.joined(separator: "\n")
    }

    /// Replaces the table between the markers in `file` (or appends it).
    static func write(_ table: String, into file: URL) throws {
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        let updated: String
        if let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex) {
            updated = text.replacingCharacters(in: start.lowerBound..<stop.upperBound, with: table)
        } else {
            updated = text + (text.isEmpty || text.hasSuffix("\n\n") ? "" : "\n") + table + "\n"
        }
        try updated.write(to: file, atomically: true, encoding: .utf8)
    }
}
