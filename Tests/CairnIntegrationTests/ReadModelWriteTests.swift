import CairnCore
@testable import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// What the API reads beside the engine's state, written by the worker's own statements (no row triggers): the
/// account list's keys from the facts, and the change times of stage, score and band.
@Suite("Read model written by the worker", .serialized)
struct ReadModelWriteTests {
    static let start = Date(timeIntervalSince1970: 1_780_000_000)

    static func event(_ index: Int, _ name: String, hours: Double, user: String? = "ada", properties: [String: JSONValue] = [:]) -> AccountEvent {
        AccountEvent(messageId: "rm-\(index)", type: .track, event: name, accountId: "keys", userId: user,
                     timestamp: start.addingTimeInterval(hours * 3_600), properties: properties)
    }

    struct Health: Equatable {
        var score: Int
        var band: String
        var previousBand: String?
        var evaluatedAt: Date
        var bandChangedAt: Date?
        var scoreChangedAt: Date
    }

    static func health(_ store: Store) async throws -> Health {
        let rows = try await store.client.query(
            """
            SELECT score, band, previous_band, evaluated_at, band_changed_at, score_changed_at FROM health
            WHERE account_id = 'keys'
            """)
        for try await row in rows.decode((Int, String, String?, Date, Date?, Date).self) {
            return Health(score: row.0, band: row.1, previousBand: row.2, evaluatedAt: row.3, bandChangedAt: row.4, scoreChangedAt: row.5)
        }
        throw TestFailure("no health row for the account")
    }

    static func read(_ store: Store) async throws -> (Double?, Date?, Date?) {
        let rows = try await store.client.query("SELECT arr, renewal_at, contract_at FROM accounts WHERE account_id = 'keys'")
        for try await row in rows.decode((Double?, Date?, Date?).self) { return row }
        throw TestFailure("no account row")
    }

    static func stageChangedAt(_ store: Store) async throws -> (String, Date) {
        let rows = try await store.client.query("SELECT stage, stage_changed_at FROM journey WHERE account_id = 'keys'")
        for try await row in rows.decode((String, Date).self) { return row }
        throw TestFailure("no journey row for the account")
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test("ARR, renewal and contract dates on the account row follow the facts, the latest value winning")
    func listKeysFollowTheFacts() async throws {
        let environment = try await IsolatedEnvironment.make("readmodel-keys")
        let (before, signed, renewed, late) = try await environment.withStore { store in
            _ = try await store.apply([Self.event(0, "Report Exported", hours: 0)], logger: store.testLogger)
            let before = try await Self.read(store)
            _ = try await store.apply(
                [Self.event(1, CanonicalEvent.contractSigned, hours: 1, properties: ["arr": 120_000, "renewalDate": "2027-06-01T00:00:00Z"])],
                logger: store.testLogger)
            let signed = try await Self.read(store)
            _ = try await store.apply(
                [Self.event(2, CanonicalEvent.contractSigned, hours: 5, properties: ["arr": 180_000, "renewalDate": "2028-06-01T00:00:00Z"])],
                logger: store.testLogger)
            let renewed = try await Self.read(store)
            // An older event arriving late changes nothing: the facts keep the value with the latest event time.
            _ = try await store.apply(
                [Self.event(3, CanonicalEvent.contractSigned, hours: 3, properties: ["arr": 1, "renewalDate": "2026-01-01T00:00:00Z"])],
                logger: store.testLogger)
            return (before, signed, renewed, try await Self.read(store))
        }
        #expect(before.0 == nil && before.1 == nil && before.2 == nil)
        #expect(signed.0 == 120_000)
        #expect(signed.1 == Timestamp.parse("2027-06-01T00:00:00Z"))
        #expect(signed.2 == Self.start.addingTimeInterval(3_600), "contract date: the first signing")
        #expect(renewed.0 == 180_000 && renewed.1 == Timestamp.parse("2028-06-01T00:00:00Z"))
        #expect(renewed.2 == Self.start.addingTimeInterval(3_600), "a renewal keeps the first signing's date")
        #expect(late.0 == 180_000 && late.1 == renewed.1 && late.2 == Self.start.addingTimeInterval(3_600))
        await environment.tearDown()
    }

    @Test("Stage, score and band change times move when they change and stay when they do not")
    func changeTimes() async throws {
        let environment = try await IsolatedEnvironment.make("readmodel-times")
        try await environment.withStore { store in
            // An enterprise account in good shape: admin and champion busy every day, a sponsor, a promoter, licences in use.
            let people = ["ada": "admin", "cy": "champion", "sam": "sponsor"].map { (user: String, role: String) in
                AccountEvent(messageId: "rm-\(user)", type: .identify, accountId: "keys", userId: user, timestamp: Self.start,
                             traits: ["role": .string(role)])
            }
            let usage = (1...20).flatMap { day in
                ["ada", "cy"].map { (user: String) in
                    AccountEvent(messageId: "rm-use-\(user)-\(day)", type: .track, event: "Report Exported", accountId: "keys",
                                 userId: user, timestamp: Self.start.addingTimeInterval(Double(day) * 86_400))
                }
            }
            // The first evaluation's band has no previous one, and counts as changed when it was evaluated.
            let contract = Self.event(1, CanonicalEvent.contractSigned, hours: 0, properties: ["arr": 400_000, "seats": 10])
            _ = try await store.apply([contract], logger: store.testLogger)
            let opening = try await Self.health(store)
            #expect(opening.previousBand == nil, "a first band has no previous one")
            #expect(opening.bandChangedAt == opening.evaluatedAt, "a first band counts as changed when it was evaluated")

            // Twenty days in one batch: evaluated after each event, so the band changes on the way, at an event's time.
            _ = try await store.apply(
                people + usage + [
                    contract,
                    Self.event(8, CanonicalEvent.licenseUpdated, hours: 1, properties: ["purchased": 10, "assigned": 10]),
                    Self.event(9, CanonicalEvent.npsSubmitted, hours: 2, properties: ["score": 10]),
                    Self.event(10, CanonicalEvent.touchpointLogged, hours: 3),
                    Self.event(11, CanonicalEvent.trainingCompleted, hours: 4),
                ],
                logger: store.testLogger)
            let first = try await Self.health(store)
            let (stage, stageAt) = try await Self.stageChangedAt(store)
            #expect(first.previousBand != nil && first.previousBand != first.band)
            #expect(first.bandChangedAt.map { $0 > opening.evaluatedAt && $0 <= first.evaluatedAt } == true)

            // The same usage again, an hour later: neither the stage nor the score moves, so neither change time does.
            _ = try await store.apply([Self.event(2, "Report Exported", hours: 20 * 24 + 1)], logger: store.testLogger)
            let same = try await Self.health(store)
            let (sameStage, sameStageAt) = try await Self.stageChangedAt(store)
            try #require(same.score == first.score && same.band == first.band, "the check needs an unchanged score: \(first) \(same)")
            #expect(same.scoreChangedAt == first.scoreChangedAt)
            #expect(same.bandChangedAt == first.bandChangedAt && same.previousBand == first.previousBand)
            #expect(same.evaluatedAt > first.evaluatedAt)
            #expect(sameStage == stage && sameStageAt == stageAt)

            // Bad news all at once: the band falls; the old band is kept as the previous one, with the event time.
            _ = try await store.apply(
                [Self.event(3, CanonicalEvent.invoiceOverdue, hours: 21 * 24, properties: ["daysOverdue": 90]),
                 Self.event(4, CanonicalEvent.npsSubmitted, hours: 21 * 24, properties: ["score": 0]),
                 Self.event(5, CanonicalEvent.ticketEscalated, hours: 21 * 24, properties: ["ticketId": "t1", "priority": "urgent"]),
                 Self.event(6, CanonicalEvent.licenseUpdated, hours: 21 * 24, properties: ["purchased": 100, "assigned": 2]),
                 AccountEvent(messageId: "rm-left", type: .track, event: CanonicalEvent.contactLeft, accountId: "keys", userId: "cy",
                              timestamp: Self.start.addingTimeInterval(21 * 86_400))],
                logger: store.testLogger)
            let fallen = try await Self.health(store)
            try #require(fallen.band != first.band, "the check needs a band change: \(first) \(fallen)")
            #expect(fallen.previousBand == first.band)
            #expect(fallen.bandChangedAt == fallen.evaluatedAt)
            #expect(fallen.scoreChangedAt > same.scoreChangedAt)

            // Onboarding done: a new stage, with a new change time.
            _ = try await store.apply([Self.event(7, CanonicalEvent.onboardingCompleted, hours: 21 * 24 + 2)], logger: store.testLogger)
            let (newStage, newStageAt) = try await Self.stageChangedAt(store)
            #expect(newStage != stage, "onboarding completed moves the account on from \(stage)")
            #expect(newStageAt > stageAt)
        }
        await environment.tearDown()
    }

    @Test("No index holds a column every event changes, so account, health and usage updates that leave the indexed keys alone are HOT")
    func accountUpdatesCanBeHOT() async throws {
        let environment = try await IsolatedEnvironment.make("readmodel-hot")
        try await environment.withStore { store in
            var definitions: [String] = []
            for try await definition in try await store.client.query(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'accounts'::regclass"
            ).decode(String.self) { definitions.append(definition) }
            #expect(definitions.count >= 8, "\(definitions)")
            for column in ["last_event_at", "first_event_at", "event_count", "facts", "updated_at"] {
                #expect(!definitions.contains { $0.contains(column) }, "\(column) is indexed: \(definitions)")
            }
            for table in ["accounts", "health", "account_activity", "journey", "users"] {
                #expect(
                    try await store.integer("SELECT count(*)::int8 FROM pg_class WHERE relname = \(table) AND 'fillfactor=70' = ANY(reloptions)") == 1,
                    "\(table): fill factor")
            }

            // The same usage, a minute apart: facts, last event time and count change, the list's keys do not.
            for minute in 0..<6 {
                _ = try await store.apply([Self.event(100 + minute, "Report Exported", hours: 48 + Double(minute) / 60)], logger: store.testLogger)
            }
            // Statistics reach pg_stat_user_tables when the writing session goes idle (at most about a second).
            // The health row (same score and band), the day's usage count and the user (seen again the same day) are
            // rewritten the same way.
            for table in ["accounts", "health", "account_activity", "users"] {
                let hot = await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
                    ((try? await store.integer("SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = \(table)")) ?? 0) >= 3
                }
                let counts = try await store.integer("SELECT n_tup_upd * 1000 + n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = \(table)")
                #expect(hot, "\(table) updates, HOT: \(counts / 1000), \(counts % 1000)")
            }
        }
        await environment.tearDown()
    }

    @Test("Users active in the last 30 days are counted to the second, though the index narrows them by day")
    func activeUsersToTheSecond() async throws {
        let environment = try await IsolatedEnvironment.make("readmodel-active")
        try await environment.withStore { store in
            let boundary = Self.start.addingTimeInterval(-30 * 86_400)
            func seen(_ index: Int, _ user: String, at time: Date) -> AccountEvent {
                AccountEvent(messageId: "active-\(index)", type: .track, event: "Report Exported", accountId: "active", userId: user,
                             timestamp: time)
            }
            // A minute before the 30-day boundary (the same UTC day as the boundary), a minute after it, and now.
            _ = try await store.apply(
                [seen(0, "old", at: boundary.addingTimeInterval(-60)), seen(1, "edge", at: boundary.addingTimeInterval(60)),
                 seen(2, "new", at: Self.start)], logger: store.testLogger)
            #expect(Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: boundary).hour! >= 1)
            let contexts = try await store.client.withConnection { connection in
                try await store.loadContexts(["active"], now: ["active": Self.start], on: connection, logger: store.testLogger)
            }
            #expect(contexts["active"]?.activeUsers == 2, "edge and new; old was seen a minute too early")
        }
        await environment.tearDown()
    }

    @Test("A user's active days gain a batch's new days, keep the known ones once, and hold the latest 60")
    func activeDaysMerge() async throws {
        let environment = try await IsolatedEnvironment.make("readmodel-days")
        try await environment.withStore { store in
            let firstDay = Timestamp.epochDay(Self.start)
            var index = 0
            func apply(days: [Int]) async throws {
                let events = days.map { day -> AccountEvent in
                    index += 1
                    return AccountEvent(
                        messageId: "days-\(index)", type: .track, event: "Report Exported", accountId: "days", userId: "ada",
                        timestamp: Self.start.addingTimeInterval(Double(day) * 86_400 + 3_600))
                }
                _ = try await store.apply(events, logger: store.testLogger)
            }
            func stored() async throws -> [Int] {
                let rows = try await store.client.query(
                    "SELECT active_days FROM users WHERE account_id = 'days' AND user_id = 'ada'", logger: store.testLogger)
                for try await days in rows.decode([Int32].self) { return days.map { Int($0) - firstDay }.sorted() }  // order is not kept
                return []
            }
            try await apply(days: [0, 1])
            #expect(try await stored() == [0, 1])
            try await apply(days: [1])  // known only
            #expect(try await stored() == [0, 1])
            try await apply(days: [1, 3])  // one known, one new
            #expect(try await stored() == [0, 1, 3])
            try await apply(days: [0, 2, 3])
            #expect(try await stored() == [0, 1, 2, 3])
            // Up to day 63: the latest 60 days are 4 to 63; a day older than those is not kept.
            try await apply(days: Array(4...63))
            #expect(try await stored() == Array(4...63))
            try await apply(days: [0, 63])
            #expect(try await stored() == Array(4...63))
        }
        await environment.tearDown()
    }

    @Test("The stream clock is the latest event time any partition stored; the sweep's is the earliest partition's, and neither goes back")
    func streamClock() async throws {
        let environment = try await IsolatedEnvironment.make("readmodel-clock")
        try await environment.withStore { first in
            #expect(try await first.now(.stream, logger: first.testLogger) == nil, "no event stored yet")
            #expect(try await first.sweepTime(.stream, logger: first.testLogger) == nil)
            try await environment.withStore { second in
                // Two workers, each with a partition of its own, each partition with its own account.
                func event(_ index: Int, account: String, hours: Double) -> AccountEvent {
                    AccountEvent(messageId: "clock-\(index)", type: .track, event: "Report Exported", accountId: account, userId: "ada",
                                 timestamp: Self.start.addingTimeInterval(hours * 3_600))
                }
                func hours(_ date: Date?) -> Double? { date.map { $0.timeIntervalSince(Self.start) / 3_600 } }
                _ = try await first.apply([event(200, account: "clock-a", hours: 10)], partition: 3, logger: first.testLogger)
                _ = try await second.apply([event(201, account: "clock-b", hours: 30)], partition: 5, logger: second.testLogger)
                _ = try await first.apply([event(202, account: "clock-a", hours: 20)], partition: 3, logger: first.testLogger)
                // An older event later changes nothing: the clock never goes back.
                _ = try await first.apply([event(203, account: "clock-a", hours: 15)], partition: 3, logger: first.testLogger)
                #expect(hours(try await first.now(.stream, logger: first.testLogger)) == 30)
                #expect(hours(try await second.sweepTime(.stream, logger: second.testLogger)) == 20, "partition 3 is at 20 h")
                // A sweep writes no clock: it applies no event.
                _ = try await first.sweep(now: Self.start.addingTimeInterval(30 * 3_600), logger: first.testLogger)
                #expect(hours(try await first.sweepTime(.stream, logger: first.testLogger)) == 20)
                #expect(try await first.integer("SELECT count(*)::int8 FROM stream_clock") == 2, "one row per partition")
                // Partition 5 taken over by the first worker: the same row moves on.
                _ = try await first.apply([event(204, account: "clock-b", hours: 40)], partition: 5, logger: first.testLogger)
                #expect(hours(try await second.now(.stream, logger: second.testLogger)) == 40)
                #expect(hours(try await second.sweepTime(.stream, logger: second.testLogger)) == 20)
                _ = try await second.apply([event(205, account: "clock-a", hours: 35)], partition: 3, logger: second.testLogger)
                #expect(hours(try await second.sweepTime(.stream, logger: second.testLogger)) == 35)
                #expect(try await first.integer("SELECT count(*)::int8 FROM stream_clock") == 2)
            }
        }
        await environment.tearDown()
    }
}
