import CairnAMQP
import CairnStore
import Logging
import PostgresNIO

/// Runs `body` while `services` (workers, relays, escalators) run over `store`'s pool and the broker `connections`,
/// and stops them in dependency order when it returns, as a role's service group does on SIGTERM: first the
/// services, then the connections and the pool they use.
///
/// Cancelling everything at once, as the benchmarks first did, let an outbox round ask the pool for a connection
/// after the pool had stopped; that round waited until its watchdog ended the benchmark with status 75.
func withBenchmarkServices<T: Sendable>(
    store: Store, otherStores: [Store] = [], connections: [AMQPConnection], services: [@Sendable () async throws -> Void],
    logger: Logger, _ body: () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { infrastructure in
        for client in ([store] + otherStores).map(\.client) {
            infrastructure.addTask { await client.run() }
        }
        for connection in connections {
            infrastructure.addTask { try await connection.run() }
        }
        defer { infrastructure.cancelAll() }
        try await store.migrate()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask {
                    do { try await service() } catch is CancellationError {} catch {
                        logger.error("benchmark service failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            defer { group.cancelAll() }  // the group then waits for them before `infrastructure` is cancelled
            return try await body()
        }
    }
}
