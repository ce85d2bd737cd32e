import CairnAMQP
import CairnCore
@testable import CairnStore
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

    /// The third deadline is PostgreSQL's: a transaction whose process stopped between two statements (frozen, or
    /// cut off) holds its locks until the server ends it. postgres-nio 1.33.2 then loses the next statement on that
    /// connection and waits for ever (its own `withTransaction` hangs on the ROLLBACK): Cairn's checked transaction
    /// must fail at once, with an error a worker retries. The fault suite's frozen-worker row shows it end to end.
    @Test(
        "A pool with an idle-transaction timeout names its sessions and carries the timeout; a transaction left idle past it fails at once, and the pool goes on",
        .timeLimit(.minutes(1)))
    func idleTransactionsAreEnded() async throws {
        let environment = try await IsolatedEnvironment.make("idletx")
        var configuration = environment.database
        configuration.idleInTransactionTimeout = .milliseconds(1_500)
        configuration.applicationName = "cairn test \(environment.name)"
        var logger = TestInfrastructure.logger("cairn.test.idle")
        logger.logLevel = .error
        let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let settings = try await client.query(
                "SELECT current_setting('idle_in_transaction_session_timeout'), current_setting('application_name')", logger: logger)
            for try await (timeout, name) in settings.decode((String, String).self) {
                #expect(timeout == "1500ms")
                #expect(name == configuration.applicationName)
            }
            let started = ContinuousClock.now
            var ended: (any Error)?
            do {
                try await client.checkedTransaction(logger: logger) { connection in
                    _ = try await connection.checkedQuery("SELECT 1", logger: logger)
                    try await Task.sleep(for: .seconds(3))
                    _ = try await connection.checkedQuery("SELECT 1", logger: logger)
                }
            } catch {
                ended = error
            }
            #expect(ended != nil, "a transaction idle for 3 s outlived a 1.5 s idle timeout")
            #expect(ContinuousClock.now - started < .seconds(10))
            // Not the data's fault: a worker retries such a batch instead of dead-lettering it.
            #expect(ended.map(Store.isDataError) == false, "\(String(reflecting: ended))")
            let after = try await client.query("SELECT 1::int8", logger: logger)
            for try await one in after.decode(Int.self) { #expect(one == 1) }
        }
        await environment.tearDown()
    }
}
