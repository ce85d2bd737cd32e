import Logging
import PostgresNIO
import Synchronization

/// Statements and transactions that refuse a connection the server has closed, instead of waiting for ever.
///
/// postgres-nio 1.33.2 writes a query to its channel without a promise; once the channel is closed, the write fails
/// unseen and the query's own promise is never completed, so the call waits for ever (cancellation does not end
/// it). That happens to a connection leased inside a transaction whose session PostgreSQL ended while the process
/// sat between two statements: `idle_in_transaction_session_timeout`, `pg_terminate_backend`, a restart. Its own
/// `withTransaction` then hangs on the ROLLBACK as well. Every statement Cairn runs on a leased connection goes
/// through `checkedQuery`, and every transaction through `checkedTransaction`, so such a connection fails at
/// once with a transient error and the work is retried. A close that lands between the check and the write (a
/// frozen process resumed: the close and the next statement come at once) loses the statement all the same, so
/// while a statement waits, the connection is looked at every `closedPoll` too, and the caller gets the same
/// transient error as soon as it is closed; the lost call is left behind. The batch watchdog
/// (`CAIRN_BATCH_TIMEOUT`) stays for anything else that hangs.
extension PostgresConnection {
    /// `query`, failing at once with a transient error when the server has closed this connection.
    @discardableResult
    func checkedQuery(
        _ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> PostgresRowSequence {
        guard !isClosed else { throw StoreError.connectionClosed("the server closed the connection (\(file):\(line))") }
        return try await unlessClosed(file: file, line: line) { try await self.query(query, logger: logger, file: file, line: line) }
    }

    /// `checkedQuery` for a large result, collected on the connection's event loop.
    ///
    /// postgres-nio 1.33.2's row stream fails a precondition (SIGILL: "How can we receive a body part, after a
    /// channelReadComplete, but no read has been forwarded yet") when rows wait for an async consumer's demand and
    /// the server ends the connection: NIO then delivers the rest of the socket in several reads at once. A result
    /// collected on the event loop asks for more rows as each read arrives, so it never waits for demand. The fault
    /// suite's frozen worker hit it in its lock-and-state read (RELIABILITY.md).
    func checkedQueryAll(
        _ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> [PostgresRow] {
        guard !isClosed else { throw StoreError.connectionClosed("the server closed the connection (\(file):\(line))") }
        return try await unlessClosed(file: file, line: line) {
            let result: PostgresQueryResult = try await self.query(query, logger: logger, file: file, line: line).get()
            return result.rows
        }
    }

    /// How often a waiting statement looks whether its connection was closed under it.
    static let closedPoll: Duration = .milliseconds(250)

    /// `body`'s result, or `StoreError.connectionClosed` as soon as this connection is closed while `body` waits
    /// (whichever comes first). `body` runs in a task of its own, which a lost statement leaves waiting for ever;
    /// it holds the closed connection and nothing else.
    private func unlessClosed<Value: Sendable>(
        file: String, line: Int, _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = ResumeOnce(continuation)
            let watcher = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.closedPoll)
                    if isClosed {
                        outcome.resume(with: .failure(StoreError.connectionClosed("the server closed the connection (\(file):\(line))")))
                        return
                    }
                }
            }
            Task {
                do {
                    outcome.resume(with: .success(try await body()))
                } catch {
                    outcome.resume(with: .failure(error))
                }
                watcher.cancel()
            }
        }
    }

    /// BEGIN, `body`, COMMIT, each through `checkedQuery`; ROLLBACK when `body` throws and the connection is open.
    /// The error thrown is `body`'s (or the failed statement's) own.
    func checkedTransaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        _ = try await checkedQuery("BEGIN", logger: logger)
        let value: Result
        do {
            value = try await body(self)
        } catch {
            _ = try? await checkedQuery("ROLLBACK", logger: logger)
            throw error
        }
        _ = try await checkedQuery("COMMIT", logger: logger)
        return value
    }
}

extension PostgresClient {
    /// A transaction on a leased connection, through `PostgresConnection.checkedTransaction`.
    func checkedTransaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await withConnection(isolation: isolation) { connection in
            try await connection.checkedTransaction(logger: logger, isolation: isolation, body)
        }
    }
}

/// Resumes a continuation with the first of several results; later ones are dropped.
private final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: CheckedContinuation<Value, any Error>
    private let resumed = Mutex(false)

    init(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation = continuation
    }

    func resume(with result: Result<Value, any Error>) {
        let first = resumed.withLock { resumed in
            defer { resumed = true }
            return !resumed
        }
        if first { continuation.resume(with: result) }
    }
}
