import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// The two deadlines that end a process whose database work does not finish (status 75, for the supervisor to
/// start it again): a batch held up past CAIRN_BATCH_TIMEOUT, and a graceful shutdown past CAIRN_SHUTDOWN_TIMEOUT.
/// The test holds the account's row lock in its own transaction, so the worker's batch waits on it for as long as
/// the test wants; the event is applied once, by the next worker, after the lock goes.
@Suite("Deadlines", .serialized)
struct DeadlineTests {
    @Test(
        "A batch stuck past CAIRN_BATCH_TIMEOUT, or a shutdown stuck past CAIRN_SHUTDOWN_TIMEOUT, ends the worker with 75; nothing is lost",
        arguments: ["batch", "shutdown"])
    func stuckWorkEndsTheProcess(deadline: String) async throws {
        let environment = try await IsolatedEnvironment.make("deadline\(deadline)")
        var processEnvironment = environment.processEnvironment()
        processEnvironment["CAIRN_BATCH_TIMEOUT"] = deadline == "batch" ? "2" : "600"
        processEnvironment["CAIRN_SHUTDOWN_TIMEOUT"] = "2"
        let first = try CairnProcess(["worker"], environment: processEnvironment, logName: "deadline-\(environment.name)-1")
        defer { first.kill() }
        let at = Date(timeIntervalSince1970: 1_780_000_000)
        let events = (1...2).map { AccountEvent.usage(messageId: "d\($0)", accountId: "acct-held", userId: "u1", at: at.addingTimeInterval(Double($0))) }
        try await environment.withAMQP { try await $0.publishConfirmed(events[0].message) }
        let firstApplied = try await environment.withStore { store in
            await eventually(timeout: .seconds(30)) { (try? await store.eventCount(logger: store.testLogger)) == 1 }
        }
        #expect(firstApplied)

        // Hold the account's row; the worker's next batch waits on it.
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await environment.withStore { store in
                try await store.client.withTransaction(logger: store.testLogger) { connection in
                    _ = try await connection.query("SELECT account_id FROM accounts WHERE account_id = 'acct-held' FOR UPDATE", logger: store.testLogger)
                    for await _ in release.stream { break }
                }
            }
        }
        // The row is held once the holder's transaction sits idle in transaction.
        let database = environment.database.database
        let held = try await environment.withStore { store in
            await eventually(timeout: .seconds(30)) {
                (try? await store.integer(
                    "SELECT count(*)::int8 FROM pg_stat_activity WHERE datname = \(database) AND state = 'idle in transaction'")) ?? 0 >= 1
            }
        }
        #expect(held)
        try await environment.withAMQP { try await $0.publishConfirmed(events[1].message) }
        // Only once the worker's batch waits on the lock is the batch (and so the shutdown) stuck.
        let waiting = try await environment.withStore { store in
            await eventually(timeout: .seconds(30)) {
                (try? await store.integer(
                    "SELECT count(*)::int8 FROM pg_stat_activity WHERE datname = \(database) AND wait_event_type = 'Lock'")) ?? 0 >= 1
            }
        }
        #expect(waiting, "the worker's batch never waited on the held row")

        let status: Int32?
        if deadline == "batch" {
            status = await first.exitStatus(within: .seconds(30))
            #expect(first.log.contains("database work did not finish in time"), "\(first.log)")
        } else {
            // SIGTERM while the batch waits: the shutdown cannot finish, so the deadline ends it.
            kill(first.pid, SIGTERM)
            status = await first.exitStatus(within: .seconds(30))
            #expect(first.log.contains("graceful shutdown did not finish in time"), "\(first.log)")
        }
        #expect(status == Watchdog.exitStatus)

        release.continuation.yield()
        release.continuation.finish()
        _ = try? await holder.value
        let second = try CairnProcess(["worker"], environment: processEnvironment, logName: "deadline-\(environment.name)-2")
        defer { second.kill() }
        let applied = try await environment.withStore { store in
            _ = await eventually(timeout: .seconds(30)) { (try? await store.eventCount(logger: store.testLogger)) == 2 }
            return try await store.integer("SELECT event_count::int8 FROM accounts WHERE account_id = 'acct-held'")
        }
        #expect(applied == 2)
        #expect(await second.terminate() == 0)
        await environment.tearDown()
    }
}
