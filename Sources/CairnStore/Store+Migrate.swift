import Logging
import PostgresNIO

extension Store {
    /// Key of the advisory lock that serialises migrations across processes.
    static let migrationLock: Int64 = 0x6361_6972_6e00  // "cairn"

    /// Applies the migrations not yet applied, in order, each in its own transaction. Safe to run from several
    /// processes at once: they take turns on an advisory lock, and the later ones find nothing left to do.
    /// - Parameter last: apply the migrations up to this version only (an older schema, for upgrade tests).
    /// - Returns: the versions this call applied.
    @discardableResult
    public func migrate(through last: Int = .max) async throws -> [Int] {
        try await client.withConnection { connection in
            try await connection.checkedQuery("SELECT pg_advisory_lock(\(Self.migrationLock))", logger: logger)
            do {
                let applied = try await applyPending(through: last, on: connection)
                try await connection.checkedQuery("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.checkedQuery("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
                throw error
            }
        }
    }

    private func applyPending(through last: Int, on connection: PostgresConnection) async throws -> [Int] {
        try await connection.checkedQuery(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var done = Set<Int>()
        for try await version in try await connection.checkedQuery("SELECT version FROM schema_migrations", logger: logger)
            .decode(Int.self)
        {
            done.insert(version)
        }
        var applied: [Int] = []
        for migration in Migration.all where migration.version <= last && !done.contains(migration.version) {
            do {
                try await connection.checkedTransaction(logger: logger) { transaction in
                    for statement in migration.statements {
                        try await transaction.checkedQuery(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await transaction.checkedQuery(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger)
                }
            } catch {
                throw StoreError.migration("migration \(migration.version) (\(migration.name)) failed: \(String(reflecting: error))")
            }
            logger.info("migration applied", metadata: ["cairn.migration": "\(migration.version)"])
            applied.append(migration.version)
        }
        return applied
    }
}
