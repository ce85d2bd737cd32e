import CairnCore
import CairnSimulator
import CairnTesting
import Foundation
import Testing

/// The fault suite: a simulated customer base's event stream through the real pipeline (RabbitMQ, PostgreSQL,
/// workers, escalators, ingest) once without faults and once per fault, on a RabbitMQ and a PostgreSQL of its own
/// that it may stop. Every run must end with nothing lost, nothing applied twice, no duplicate task, every poison
/// message dead-lettered with its reason, and the same journeys and health as the fault-free run.
///
/// `CAIRN_FAULT_PROFILE=long` (see `scripts/faults`) runs a bigger stream and more injections; the default
/// profile is the one CI runs. The table goes to test-artifacts/fault-suite.md, and into the file
/// `CAIRN_FAULT_REPORT` names (RELIABILITY.md) when set.
@Suite("Fault suite", .serialized)
struct FaultSuiteTests {
    struct Profile {
        var name: String
        var accounts: Int
        var days: Int
        var usageScale: Double
        var kills: Int

        static var current: Profile {
            TestInfrastructure.environment["CAIRN_FAULT_PROFILE"] == "long"
                ? Profile(name: "long", accounts: 300, days: 120, usageScale: 1, kills: 10)
                : Profile(name: "short", accounts: 60, days: 90, usageScale: 0.5, kills: 3)
        }
    }

    @Test("Under each fault the pipeline loses nothing, applies nothing twice and ends where the fault-free run ends")
    func faultSuite() async throws {
        let profile = Profile.current
        var configuration = SimulationConfiguration(
            accounts: profile.accounts, days: profile.days, seed: 7, start: SimulationConfiguration.date(fromISODay: "2026-03-01")!)
        configuration.usageScale = profile.usageScale
        let stream = try Simulation(configuration: configuration).flatMap(\.events)
        let every: [Fault] = [
            .none, .killWorker(times: profile.kills), .killEscalator(times: profile.kills), .killIngest(times: profile.kills),
            .restartBroker, .restartBrokerUnderIngest, .restartDatabase, .duplicateAndReorder, .poison, .backlog,
            .killBrokerNode(downSeconds: 10), .freezeWorker(times: profile.kills, seconds: 8),
        ]
        // CAIRN_FAULT_ONLY=kill-worker,backlog runs those and the reference (while working on one fault).
        let only = TestInfrastructure.environment["CAIRN_FAULT_ONLY"].map { Set($0.split(separator: ",").map(String.init)) }
        if let only, let unknown = only.first(where: { key in !every.contains { $0.key == key } }) {
            throw TestError("CAIRN_FAULT_ONLY: unknown fault \(unknown) (known: \(every.map(\.key).joined(separator: ", ")))")
        }
        let faults = every.filter { $0 == .none || only?.contains($0.key) ?? true }
        let servers = try await PrivateServers.start()
        let outcomes: [FaultOutcome]
        do {
            outcomes = try await Self.run(faults, stream: stream, servers: servers, profile: profile)
        } catch {
            try? await servers.infra("stop")
            throw error
        }
        try? await servers.infra("stop")


        let description = "\(stream.count) events of \(profile.accounts) simulated accounts over \(profile.days) days (seed 7), "
            + "two workers and two escalators"
        let table = FaultReport.markdown(outcomes, profile: profile.name, stream: description, reference: outcomes[0])
        let artifact = TestInfrastructure.artifacts.appendingPathComponent("fault-suite.md")
        try FileManager.default.createDirectory(at: TestInfrastructure.artifacts, withIntermediateDirectories: true)
        try FaultReport.write(table, into: artifact)
        // A partial run never replaces the full table in the report.
        if let report = TestInfrastructure.environment["CAIRN_FAULT_REPORT"], only == nil {
            try FaultReport.write(table, into: URL(fileURLWithPath: report))
        }
        for outcome in outcomes {
            // The table first and the reason last, so the end of a truncated CI log still names what broke.
            #expect(outcome.passed, "\(table)\n\(outcome.fault.name) FAILED: \(outcome.failures.joined(separator: "; "))")
        }
        #expect(outcomes.allSatisfy { $0.fault == .none || $0.injected != "0×" }, "a fault was never injected:\n\(table)")
    }

    /// Runs each fault in turn (the first is the reference) and compares every run with the reference. The node-kill
    /// fault gets a three-node cluster of its own, stopped after it.
    static func run(_ faults: [Fault], stream: [AccountEvent], servers: PrivateServers, profile: Profile) async throws -> [FaultOutcome] {
        var outcomes: [FaultOutcome] = []
        for fault in faults {
            var run = FaultRun(fault: fault, stream: stream, servers: servers)
            if case .killBrokerNode = fault { run.cluster = try await BrokerCluster.start(databaseURL: servers.servers.databaseURL) }
            var outcome: FaultOutcome
            do {
                outcome = try await run.run()
            } catch {
                await run.cluster?.stop()
                throw error
            }
            await run.cluster?.stop()
            let reference = outcomes.first ?? outcome
            outcome.stateMatches = outcome.state.count == profile.accounts && outcome.state == reference.state
            // Scores agree (checked above); a band may still differ where the score lies within the hysteresis
            // margin of a threshold, since which side it lands on depends on the scores seen on the way.
            let bands = HealthBands.standard
            for (account, mine) in outcome.bands {
                guard let theirs = reference.bands[account], theirs.band != mine.band else { continue }
                outcome.bandsDiffering += 1
                let nearGreen = abs(mine.score - bands.green) <= bands.margin
                let nearYellow = abs(mine.score - bands.yellow) <= bands.margin
                if mine.score != theirs.score || !(nearGreen || nearYellow) { outcome.bandsDifferingOutsideMargin += 1 }
            }
            if !outcome.stateMatches {
                let differing = reference.state.keys.filter { outcome.state[$0] != reference.state[$0] }.sorted().prefix(3)
                Issue.record(
                    "\(fault.name): \(differing.count) accounts differ from the reference, e.g. \(differing.map { "\($0): \(outcome.state[$0] ?? "missing") vs \(reference.state[$0] ?? "missing")" })")
            }
            outcomes.append(outcome)
            try? FaultReport.playDifferences(outcome, reference: reference).write(
                to: TestInfrastructure.artifacts.appendingPathComponent("fault-plays-\(fault.key).txt"), atomically: true, encoding: .utf8)
        }
        return outcomes
    }
}
