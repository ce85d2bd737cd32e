import Foundation
public import Logging

/// Ends the process when a batch's database work hangs, so that its supervisor starts a fresh one.
///
/// A PostgreSQL restart can leave a batch's database call waiting for ever: the fault suite saw a worker hold its
/// unacknowledged deliveries after PostgreSQL came back, with no error, while the same process's other queries (its
/// outbox relay) went on working. Where in postgres-nio the call is lost is not known yet.
/// Nothing of the batch is acknowledged, so exiting loses nothing: the broker hands the deliveries to another
/// consumer, and the restarted process starts with a fresh pool. Status 75 (EX_TEMPFAIL) says "start me again".
public enum Watchdog {
    public static let exitStatus: Int32 = 75

    public static func run<Result>(
        limit: Duration, what: @autoclosure () -> String, logger: Logger, _ body: () async throws -> Result
    ) async throws -> Result {
        let description = what()
        let watchdog = Task {
            try await Task.sleep(for: limit)
            logger.critical(
                "database work did not finish in time; exiting so that the supervisor restarts this process (nothing of it was acknowledged)",
                metadata: ["cairn.work": "\(description)", "cairn.limit": "\(limit)"])
            exit(exitStatus)
        }
        defer { watchdog.cancel() }
        return try await body()
    }
}
