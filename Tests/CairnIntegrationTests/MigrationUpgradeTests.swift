import CairnCore
@testable import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// A database written by an older Cairn is upgraded in place: the migrations keep what it held, and the worker goes on
/// from there.
@Suite("Schema upgrades")
struct MigrationUpgradeTests {
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test("Migrations 10 to 13 keep schema 9's facts, components, users' last-seen times and stream clock, and the worker goes on from them")
    func upgradeFromSchema9() async throws {
        let environment = try await IsolatedEnvironment.make("upgrade", schema: 9)
        let facts = {
            var facts = AccountFacts()
            facts.seats = Stamped(12, at: Self.now, by: "m-0")
            facts.arr = Stamped(50_000, at: Self.now, by: "m-0")
            return facts
        }()
        let components = [HealthComponent(name: "usage", score: 70, weight: 0.5, reason: "3 of 4 weeks active")]
        try await environment.withStore { store in
            // Rows as schema 9's worker wrote them: facts and components as jsonb, users without a day last seen.
            let factsText = StateCodec.encode(facts: facts)
            let componentsText = StateCodec.encode(components: components)
            let old = Self.now.addingTimeInterval(-40 * 86_400)
            for query: PostgresQuery in [
                """
                INSERT INTO accounts (account_id, facts, event_count, first_event_at, last_event_at)
                VALUES ('up', \(factsText)::jsonb, 2, \(old), \(Self.now))
                """,
                """
                INSERT INTO health (account_id, score, band, components, explanation, evaluated_at)
                VALUES ('up', 70, 'green', \(componentsText)::jsonb, 'usage: 3 of 4 weeks active', \(Self.now))
                """,
                """
                INSERT INTO users (account_id, user_id, first_seen_at, last_seen_at, event_count)
                VALUES ('up', 'ada', \(Self.now), \(Self.now), 1), ('up', 'bob', \(old), \(old), 1)
                """,
                // The stream clock as schema 9 to 12 kept it: a row per writing process.
                "INSERT INTO stream_clock (writer, latest) VALUES ('4242-17', \(old)), ('4243-99', \(Self.now))",
            ] {
                _ = try await store.client.query(query)
            }

            #expect(try await store.migrate().starts(with: [10, 11, 12, 13]))
            // The processes' rows fold into partition 0's, at the latest time any of them had.
            #expect(try await store.integer("SELECT count(*)::int8 FROM stream_clock") == 1)
            #expect(try await store.sweepTime(.stream, logger: store.testLogger) == Self.now)

            let stored = try await store.client.withConnection { connection in
                try await store.lockAccounts(["up"], on: connection, logger: store.testLogger)
            }
            #expect(stored["up"]?.facts == facts)
            #expect(stored["up"]?.health?.components == components)
            #expect(try await store.integer("SELECT count(*)::int8 FROM users WHERE last_seen_day = (last_seen_at AT TIME ZONE 'UTC')::date") == 2)

            // The worker goes on: a new event is counted, and only ada was active in the last 30 days.
            let event = AccountEvent(
                messageId: "up-new", type: .track, event: "Report Exported", accountId: "up", userId: "ada",
                timestamp: Self.now.addingTimeInterval(3_600))
            #expect(try await store.apply([event], logger: store.testLogger).applied == 1)
            #expect(try await store.integer("SELECT event_count::int8 FROM accounts WHERE account_id = 'up'") == 3)
            let contexts = try await store.client.withConnection { connection in
                try await store.loadContexts(["up"], now: ["up": Self.now.addingTimeInterval(3_600)], on: connection, logger: store.testLogger)
            }
            #expect(contexts["up"]?.activeUsers == 1)
            #expect(try await store.integer("SELECT (facts->'seats'->>'value')::int8 FROM accounts WHERE account_id = 'up'") == 12)
            #expect(try await store.now(.stream, logger: store.testLogger) == event.timestamp)
        }
        await environment.tearDown()
    }
}
