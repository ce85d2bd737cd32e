import CairnCore
import CairnStore
import Foundation
import PostgresNIO

extension PipelineBenchmark {
    /// How many of the stored accounts a stored run's events go to (fewer when the smallest account count is).
    var storedTouched: Int { 1_000 }

    static func storedAccount(_ index: Int) -> String { "bench-stored-\(index)" }

    /// Storing the accounts before the runs at one account count.
    public struct StoringStep: Sendable, Codable {
        /// Accounts stored once the step was done, and how many it added.
        public var accounts: Int
        public var added: Int
        /// Of those, applied through the pipeline (the templates, with one worker) and copied from them in SQL.
        public var applied: Int
        public var seconds: Double
    }

    /// A stored run's stream: the usual mix, over `touched` of the `stored` accounts spaced evenly across them
    /// (so the rows and index entries read are spread over the whole table), shifted by `offset` so each run writes
    /// to accounts the earlier runs did not touch where there are enough of them.
    func storedSample(runID: String, stored: Int, touched: Int, offset: Int) -> [AccountEvent] {
        let spacing = max(1, stored / touched)
        return (0..<events).map { index in
            let slot = index % touched
            let account = Self.storedAccount((slot * spacing + offset) % stored)
            return Self.event(index: index, runID: runID, account: account, user: "user-\(index % (touched * 5))")
        }
    }

    /// Makes `count` accounts stored: the first `templates` through the pipeline (a stream of `events` events over
    /// them, one worker), the rest as copies of those in SQL (their account, journey and health rows; not their
    /// users, activity or history), then vacuums and analyzes the copied tables so that the runs do not pay for
    /// setting hint bits on rows they read first.
    func storeAccounts(_ count: Int, templates: Int) async throws -> StoringStep {
        let clock = ContinuousClock()
        let began = clock.now
        return try await withPipeline(workers: 1) { store, publisher in
            let before = try await self.count(store, prefix: String(Self.storedAccount(0).dropLast()), in: .accounts)
            var applied = 0
            if before < templates {
                let runID = "stored-templates-\(UUID().uuidString.prefix(8).lowercased())"
                let stream = (0..<events).map { index in
                    Self.event(
                        index: index, runID: runID, account: Self.storedAccount(index % templates),
                        user: "user-\(index % (templates * 5))")
                }
                try await publishPipelined(stream.map(Self.message), on: publisher)
                try await waitForAll(stream.count, store: store, prefix: "bench-\(runID)-", began: clock.now)
                applied = templates - before
            }
            var stored = max(before, templates)
            let chunk = 200_000
            while stored < count {
                let end = min(count, stored + chunk)
                for table in ["accounts", "journey", "health"] {
                    try await copy(table, templates: templates, from: stored, to: end, store: store)
                }
                logger.info("accounts stored", metadata: ["cairn.accounts": "\(end)"])
                stored = end
            }
            if stored > max(before, templates) {
                _ = try await store.client.query("VACUUM (ANALYZE) accounts, journey, health", logger: logger)
            }
            return StoringStep(
                accounts: stored, added: stored - before, applied: applied, seconds: (clock.now - began).seconds)
        }
    }

    /// Copies the rows of `table` of the template accounts to accounts `from..<to`: account `i` gets the rows of
    /// template `i % templates`. The column list is read from the catalog, so the copy follows the schema.
    private func copy(_ table: String, templates: Int, from: Int, to: Int, store: Store) async throws {
        var columns: [String] = []
        for try await name in try await store.client.query(
            """
            SELECT column_name::text FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table) AND column_name <> 'account_id'
              AND is_generated = 'NEVER'
            ORDER BY ordinal_position
            """, logger: logger
        ).decode(String.self) {
            columns.append("\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
        }
        let list = columns.joined(separator: ", ")
        let source = columns.map { "t." + $0 }.joined(separator: ", ")
        let prefix = String(Self.storedAccount(0).dropLast())
        // The table name is one of three literals above and the columns come from the catalog, quoted; the numbers
        // and the prefix are bound.
        var query = PostgresQuery(unsafeSQL: """
            INSERT INTO \(table) (account_id, \(list))
            SELECT $1 || g, \(source)
            FROM generate_series($2::int8, $3::int8) AS g
            JOIN \(table) t ON t.account_id = $1 || (g % $4::int8)
            ORDER BY 1
            ON CONFLICT DO NOTHING
            """)
        query.binds.append(prefix)
        query.binds.append(Int64(from))
        query.binds.append(Int64(to - 1))
        query.binds.append(Int64(templates))
        _ = try await store.client.query(query, logger: logger)
    }
}
