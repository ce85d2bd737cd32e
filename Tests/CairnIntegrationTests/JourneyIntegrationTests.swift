import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// The engine through the real pipeline: the same stream, applied in order by one worker and shuffled with
/// duplicates by two workers at once, ends in the same journeys and health.
@Suite("Journeys end to end", .serialized)
struct JourneyIntegrationTests {
    /// Thirty accounts across segments, each with people, milestones, usage, support and sentiment.
    static func stream() -> [AccountEvent] {
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var events: [AccountEvent] = []
        func add(_ account: String, _ type: AccountEvent.Kind, _ name: String?, day: Double, user: String? = nil,
                 properties: [String: JSONValue] = [:], traits: [String: JSONValue] = [:]) {
            events.append(AccountEvent(
                messageId: "\(account)-\(events.count)", type: type, event: name, accountId: account, userId: user,
                timestamp: start.addingTimeInterval(day * 86_400), properties: properties, traits: traits))
        }
        for index in 0..<30 {
            let account = "acct-\(index)"
            let arr = [8_000.0, 60_000, 400_000][index % 3]
            add(account, .track, CanonicalEvent.contractSigned, day: 0, properties: ["arr": .number(arr), "seats": 40])
            add(account, .identify, nil, day: 0, user: "\(account)-admin", traits: ["role": "admin"])
            add(account, .identify, nil, day: 1, user: "\(account)-champ", traits: ["role": "champion"])
            if index % 2 == 0 { add(account, .track, CanonicalEvent.kickoffCompleted, day: Double(3 + index % 9)) }
            if index % 3 != 1 { add(account, .track, CanonicalEvent.onboardingCompleted, day: Double(20 + index)) }
            let activeDays = index % 5 == 0 ? 10 : 60
            for day in stride(from: 2, to: activeDays, by: 1 + index % 3) {
                add(account, .track, "Report Exported", day: Double(day) + 0.4, user: "\(account)-admin")
                add(account, .track, "Dashboard Viewed", day: Double(day) + 0.6, user: "\(account)-champ")
            }
            add(account, .track, CanonicalEvent.licenseUpdated, day: 30, properties: ["purchased": 40, "assigned": .number(Double(10 + index))])
            add(account, .track, CanonicalEvent.npsSubmitted, day: 45, user: "\(account)-champ", properties: ["score": .number(Double(index % 11))])
            if index % 4 == 0 {
                add(account, .track, CanonicalEvent.ticketOpened, day: 50, properties: ["ticketId": "t1", "priority": "high"])
                add(account, .track, CanonicalEvent.ticketEscalated, day: 52, properties: ["ticketId": "t1"])
            }
            if index % 6 == 0 { add(account, .track, CanonicalEvent.contactLeft, day: 55, user: "\(account)-champ") }
            add(account, .track, CanonicalEvent.touchpointLogged, day: 61)
        }
        return events
    }

    struct Journey: Equatable {
        var stage: String
        var history: String
        var milestones: String
        var score: Int
        var components: String
        var segment: String?
    }

    static func journeys(_ environment: IsolatedEnvironment) async throws -> [String: Journey] {
        try await environment.withStore { store in
            var result: [String: Journey] = [:]
            let rows = try await store.client.query(
                """
                SELECT a.account_id, j.stage, j.stage_history::text, j.milestones::text, h.score, h.components::text, a.segment
                FROM accounts a JOIN journey j USING (account_id) JOIN health h USING (account_id)
                """)
            for try await row in rows.decode((String, String, String, String, Int, String, String?).self) {
                result[row.0] = Journey(stage: row.1, history: row.2, milestones: row.3, score: row.4, components: row.5, segment: row.6)
            }
            return result
        }
    }

    @Test("One worker in order and two workers on a shuffled stream with duplicates end in the same journeys and health")
    func twoWorkersAgreeWithOne() async throws {
        let events = Self.stream()
        let ordered = try await IsolatedEnvironment.make("journey-ordered")
        let shuffled = try await IsolatedEnvironment.make("journey-shuffled")
        let one = try CairnProcess(["worker"], environment: ordered.processEnvironment(), logName: "worker-\(ordered.name)")
        let two = try (1...2).map { index in
            try CairnProcess(["worker"], environment: shuffled.processEnvironment(), logName: "worker-\(shuffled.name)-\(index)")
        }
        defer { one.kill(); two.forEach { $0.kill() } }

        let inOrder = events.sorted { ($0.timestamp, $0.messageId) < ($1.timestamp, $1.messageId) }
        var generator = SystemRandomNumberGenerator()
        let mixed = (events + events.filter { _ in Int.random(in: 0..<3, using: &generator) == 0 }).shuffled(using: &generator)
        for (environment, stream) in [(ordered, inOrder), (shuffled, mixed)] {
            try await environment.withAMQP { connection in
                for chunk in stride(from: 0, to: stream.count, by: 200) {
                    try await connection.publishConfirmed(stream[chunk..<min(chunk + 200, stream.count)].map(\.message))
                }
            }
        }
        for environment in [ordered, shuffled] {
            let done = try await environment.withStore { store in
                await eventually(timeout: .seconds(90)) { (try? await store.eventCount(logger: store.testLogger)) == events.count }
            }
            #expect(done, "not every event applied in \(environment.name): \(one.log) \(two[0].log)")
        }

        let expected = try await Self.journeys(ordered)
        let actual = try await Self.journeys(shuffled)
        #expect(expected.count == 30)
        #expect(Set(expected.values.map(\.segment)) == ["smb", "mid-market", "enterprise"])
        #expect(Set(expected.values.map(\.stage)).count >= 2, "\(expected.values.map(\.stage))")
        for (account, journey) in expected {
            #expect(actual[account] == journey, "\(account)")
        }
        // Signals of facts were raised once each, whatever the order.
        let signalCounts = try await [ordered, shuffled].asyncMap { environment in
            try await environment.withStore { store in
                try await store.integer(
                    "SELECT count(DISTINCT message_id)::int8 FROM outbox WHERE routing_key IN ('milestone.reached', 'nps.detractor', 'ticket.escalated', 'contact.role_changed')")
            }
        }
        #expect(signalCounts[0] == signalCounts[1])
        let duplicates = try await shuffled.withStore { store in
            try await store.integer("SELECT count(*)::int8 - count(DISTINCT message_id)::int8 FROM outbox")
        }
        #expect(duplicates == 0)
        #expect(await one.terminate() == 0)
        for worker in two { #expect(await worker.terminate() == 0) }
        await ordered.tearDown()
        await shuffled.tearDown()
    }
}

extension JourneyIntegrationTests {
    @Test("The sweep re-evaluates silent accounts at the stream clock's last midnight, and each quiet midnight before: usage decays, SLAs are missed, signals raised once")
    func sweepSeesSilence() async throws {
        let environment = try await IsolatedEnvironment.make("sweep")
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        func event(_ account: String, _ index: Int, _ type: AccountEvent.Kind, _ name: String?, day: Double,
                   user: String? = nil, properties: [String: JSONValue] = [:], traits: [String: JSONValue] = [:]) -> AccountEvent {
            AccountEvent(messageId: "\(account)-\(index)", type: type, event: name, accountId: account, userId: user,
                         timestamp: start.addingTimeInterval(day * 86_400), properties: properties, traits: traits)
        }
        var quiet = [
            event("quiet", 0, .track, CanonicalEvent.contractSigned, day: 0, properties: ["arr": 50_000]),
            event("quiet", 1, .identify, nil, day: 0, user: "ada", traits: ["role": "admin"]),
        ]
        quiet += (2..<20).map { event("quiet", $0, .track, "Report Exported", day: Double($0), user: "ada") }
        // A busy account keeps the stream clock moving to day 60.
        let busy = (0..<60).map { event("busy", $0, .track, "Report Exported", day: Double($0), user: "bob") }

        let stream = quiet + busy
        let (before, after, again, missed, history) = try await environment.withStore { store in
            _ = try await store.apply(stream, logger: store.testLogger)
            let before = try await store.account("quiet", logger: store.testLogger)?.health
            let now = try #require(try await store.now(.stream, logger: store.testLogger))
            let first = try await store.sweep(now: now, logger: store.testLogger)
            let after = try await store.account("quiet", logger: store.testLogger)
            let again = try await store.sweep(now: now, logger: store.testLogger)
            let missed = try await store.integer(
                "SELECT count(*)::int8 FROM outbox WHERE routing_key = 'milestone.missed' AND payload LIKE '%\"quiet\"%'")
            let history = try await store.integer("SELECT count(*)::int8 FROM health_history WHERE account_id = 'quiet'")
            return (before, (first, after), again, missed, history)
        }
        #expect(before?.components.first { $0.name == "usage" }?.score == 100, "\(String(describing: before))")
        #expect(after.0.ran && after.0.accounts == 1, "\(after.0)")
        let health = try #require(after.1?.health)
        #expect(health.score < (before?.score ?? 0))
        #expect(health.components.first { $0.name == "usage" }?.reason.contains("admin ada active 0 of 14 days") == true)
        #expect(health.updatedAt > (before?.updatedAt ?? .distantFuture))
        #expect(after.1?.milestones.first { $0.name == "kickoff" }?.status == .missed)
        #expect(again.accounts == 0, "an account swept at this time is not swept again")
        #expect(missed == 1, "kickoff (due on day 7) missed, raised once although evaluated three times")
        let days = Set(quiet.map { Timestamp.epochDay($0.timestamp) })
        // The quiet account's last event is on 2026-06-16 at 20:26; the stream clock (busy's last event) on 2026-07-26.
        #expect(history == days.count + 39, "one health row per evaluated day: each day with an event, and each quiet midnight from 2026-06-18 to the sweep's, 2026-07-26")
        await environment.tearDown()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

extension JourneyIntegrationTests {
    @Test("A batch that leaves an account's journey as it was does not write its journey row; one that changes it does")
    func unchangedJourneyIsNotRewritten() async throws {
        let environment = try await IsolatedEnvironment.make("journeyskip")
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        func event(_ index: Int, _ name: String, hours: Double, properties: [String: JSONValue] = [:]) -> AccountEvent {
            AccountEvent(messageId: "skip-\(index)", type: .track, event: name, accountId: "skip", userId: "ada",
                         timestamp: start.addingTimeInterval(hours * 3_600), properties: properties)
        }
        // xmin is the transaction that wrote the row's current version: it moves only when the row is written.
        let version: PostgresQuery = "SELECT xmin::text::int8 FROM journey WHERE account_id = 'skip'"
        let kickoffReached = """
            SELECT count(*)::int8 FROM journey, jsonb_array_elements(milestones) m
            WHERE account_id = 'skip' AND m->>'name' = 'kickoff' AND m->>'status' = 'reached'
            """
        let signed = event(0, CanonicalEvent.contractSigned, hours: 0, properties: ["arr": 50_000])
        let firstUse = event(1, "Report Exported", hours: 1)
        let usage = event(2, "Report Exported", hours: 2)
        let kickoff = event(3, CanonicalEvent.kickoffCompleted, hours: 3)
        let (first, same, changed, kickoffCount) = try await environment.withStore { store in
            _ = try await store.apply([signed, firstUse], logger: store.testLogger)
            let first = try await store.integer(version)
            _ = try await store.apply([usage], logger: store.testLogger)
            let same = try await store.integer(version)
            _ = try await store.apply([kickoff], logger: store.testLogger)
            return (first, same, try await store.integer(version), try await store.integer(PostgresQuery(unsafeSQL: kickoffReached)))
        }
        #expect(same == first, "more of the same usage changes no milestone, stage or track: the journey row is left alone")
        #expect(changed != first, "kickoff completed changes the journey, so its row is written")
        #expect(kickoffCount == 1)
        await environment.tearDown()
    }
}
