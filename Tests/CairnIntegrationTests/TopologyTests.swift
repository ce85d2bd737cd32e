import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// The deployment's topology as plain processes (docker-compose.yml runs the same): three workers and two
/// escalators on a simulated customer base, against one worker and one escalator on the same stream.
@Suite("Topology", .serialized)
struct TopologyTests {
    struct Outcome: Equatable {
        var journeys: [String: String]
        var openPlays: Set<String>
        var duplicateOpenPlays: Int
    }

    static func run(workers: Int, escalators: Int, label: String) async throws -> Outcome {
        let environment = try await IsolatedEnvironment.make(label)
        var processEnvironment = environment.processEnvironment()
        processEnvironment["CAIRN_CLOCK"] = "stream"
        processEnvironment["CAIRN_SWEEP_INTERVAL"] = "3600"  // no sweep mid-run: both runs evaluate at the same moments
        let roles = (0..<workers).map { ("worker", $0) } + (0..<escalators).map { ("escalator", $0) }
        let processes = try roles.map { role, index in
            try CairnProcess([role], environment: processEnvironment, logName: "\(role)-\(environment.name)-\(index)")
        }
        defer { processes.forEach { $0.kill() } }
        let simulate = try CairnProcess(
            ["simulate", "--via", "amqp", "--accounts", "60", "--days", "60", "--seed", "11", "--start", "2026-03-01",
             "--usage-scale", "0.3"],
            environment: processEnvironment, logName: "simulate-\(environment.name)")
        defer { simulate.kill() }
        #expect(await simulate.exitStatus(within: .seconds(120)) == 0, "\(simulate.log)")
        let published = simulate.simulatedEventCount
        #expect(published > 1_000, "\(simulate.log)")

        let settled = try await environment.withStore { store in
            await eventually(timeout: .seconds(180)) {
                let applied = try? await store.eventCount(logger: store.testLogger)
                let unsent = try? await store.unsentOutboxCount(logger: store.testLogger)
                let pending = try? await store.integer(
                    """
                    SELECT count(*)::int8 FROM outbox o WHERE o.exchange = 'cairn.signals'
                    AND NOT EXISTS (SELECT 1 FROM processed_messages p WHERE p.message_id = o.message_id)
                    """)
                return applied == published && unsent == 0 && pending == 0
            }
        }
        #expect(settled, "not settled: \(processes[0].log)")
        let outcome = try await environment.withStore { store in
            var journeys: [String: String] = [:]
            for try await (id, stage, history, score) in try await store.client.query(
                "SELECT a.account_id, j.stage, j.stage_history::text, h.score FROM accounts a JOIN journey j USING (account_id) JOIN health h USING (account_id)"
            ).decode((String, String, String, Int).self) {
                journeys[id] = "\(stage) \(score) \(history)"
            }
            var plays: Set<String> = []
            for try await (account, playbook) in try await store.client.query(
                "SELECT account_id, playbook FROM tasks WHERE kind = 'task' AND status = 'open'"
            ).decode((String, String).self) {
                plays.insert("\(account)/\(playbook)")
            }
            let duplicates = try await store.integer(
                """
                SELECT count(*)::int8 FROM (SELECT account_id, playbook FROM tasks WHERE kind = 'task' AND status = 'open'
                GROUP BY 1, 2 HAVING count(*) > 1) d
                """)
            return Outcome(journeys: journeys, openPlays: plays, duplicateOpenPlays: duplicates)
        }
        for process in processes { #expect(await process.terminate() == 0, "\(process.log)") }
        await environment.tearDown()
        return outcome
    }

    @Test("Three workers and two escalators on a simulated stream end where one worker and one escalator do")
    func scaledOutMatchesSingle() async throws {
        let single = try await Self.run(workers: 1, escalators: 1, label: "topology-1")
        let scaled = try await Self.run(workers: 3, escalators: 2, label: "topology-3")
        #expect(single.journeys.count == 60)
        #expect(scaled.journeys == single.journeys)
        #expect(scaled.duplicateOpenPlays == 0)
        // Which plays a stream starts is not compared: whether a signal about old history is stale is judged
        // when it is raised, and batching (one worker or three) changes that moment for the simulator's backfilled
        // history (see README, "Playbooks"). What must hold: one open task per account and play, and work done.
        #expect(!scaled.openPlays.isEmpty)
    }
}
