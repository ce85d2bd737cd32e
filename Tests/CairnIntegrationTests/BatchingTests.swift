import CairnCore
import CairnSimulator
@testable import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// The worker's outcome must not depend on where batches end: a fault (a killed worker, a redelivery) moves those
/// ends, and the fault suite compares every run against a fault-free one.
@Suite("The worker's outcome does not depend on batching", .serialized)
struct BatchingTests {
    static let start = Date(timeIntervalSince1970: 1_780_000_000)

    /// Ninety days of one account, in time order, sent as they happen: key people who come, go quiet, change
    /// roles and leave; end users; business events; usage that stops and resumes, so bands change along the way.
    static func stream(account: String) -> [AccountEvent] {
        var events: [AccountEvent] = []
        func add(_ day: Double, _ name: String?, user: String? = nil, properties: [String: JSONValue] = [:],
                 role: String? = nil) {
            let time = start.addingTimeInterval(day * 86_400)
            events.append(AccountEvent(
                messageId: "\(account)-\(events.count)", type: role == nil ? .track : .identify, event: name, accountId: account,
                userId: user, timestamp: time, receivedAt: time, properties: properties,
                traits: role.map { ["role": .string($0)] } ?? [:]))
        }
        add(0, CanonicalEvent.contractSigned, properties: ["arr": 300_000, "seats": 20])
        add(0.1, nil, user: "ada", role: "admin")
        add(0.2, nil, user: "cy", role: "champion")
        add(0.3, nil, user: "spo", role: "sponsor")
        add(3, CanonicalEvent.kickoffCompleted)
        add(10, CanonicalEvent.licenseUpdated, properties: ["purchased": 20, "assigned": 12])
        for day in 1..<90 {
            let quiet = (25..<45).contains(day)  // everyone goes quiet for three weeks
            if !quiet, day % 2 == 0 { add(Double(day) + 0.40, "Report Exported", user: "ada") }
            if !quiet, day < 60 || day > 70 { add(Double(day) + 0.45, "Dashboard Viewed", user: "cy") }
            if day % 9 == 0 { add(Double(day) + 0.50, "Alert Created", user: "end-\(day % 4)") }
        }
        add(20, CanonicalEvent.onboardingCompleted)
        add(30, CanonicalEvent.npsSubmitted, user: "cy", properties: ["score": 3])
        add(50, CanonicalEvent.ticketOpened, properties: ["ticketId": "t1", "priority": "high"])
        add(52, CanonicalEvent.ticketEscalated, properties: ["ticketId": "t1"])
        add(58, CanonicalEvent.ticketClosed, properties: ["ticketId": "t1"])
        add(62, CanonicalEvent.contactLeft, user: "cy")
        add(64, nil, user: "end-1", role: "champion")
        add(80, CanonicalEvent.npsSubmitted, user: "end-1", properties: ["score": 10])
        return events.sorted { ($0.timestamp, $0.messageId) < ($1.timestamp, $1.messageId) }
    }

    /// An account's health, its history and the signals it raised, with the account's id taken out.
    struct Outcome: Equatable {
        var health: [String]
        var history: [String]
        var signals: [String]
    }

    static func outcome(_ account: String, _ store: Store) async throws -> Outcome {
        func strings(_ query: PostgresQuery) async throws -> [String] {
            var result: [String] = []
            for try await row in try await store.client.query(query).decode(String.self) {
                result.append(row.replacingOccurrences(of: account, with: "ACCOUNT"))
            }
            return result
        }
        return Outcome(
            health: try await strings(
                """
                SELECT concat_ws(' | ', score, band, previous_band, evaluated_at, band_changed_at, components::text, explanation)
                FROM health WHERE account_id = \(account)
                """),
            history: try await strings("SELECT concat_ws(' ', day, score, band) FROM health_history WHERE account_id = \(account) ORDER BY day"),
            signals: try await strings(
                "SELECT payload FROM outbox WHERE exchange = 'cairn.signals' AND payload LIKE \("%\"" + account + "\"%") ORDER BY payload"))
    }

    @Test("One event at a time and random batches of the same stream give the same health, history and signals", arguments: [1, 2])
    func sameOutcome(seed: UInt64) async throws {
        let environment = try await IsolatedEnvironment.make("batching-\(seed)")
        try await environment.withStore { store in
            let single = Self.stream(account: "single")
            for event in single { _ = try await store.apply([event], logger: store.testLogger) }

            var random = SplitMix64(state: seed)
            var rest = Self.stream(account: "batched")[...]
            var batches = 0
            while !rest.isEmpty {
                let size = Int.random(in: 1...16, using: &random)
                _ = try await store.apply(Array(rest.prefix(size)), logger: store.testLogger)
                rest = rest.dropFirst(size)
                batches += 1
            }
            #expect(batches > 10)

            let one = try await Self.outcome("single", store)
            let many = try await Self.outcome("batched", store)
            #expect(one.signals.contains { $0.contains(SignalKind.healthBandChanged) }, "the stream changes bands: \(one.signals)")
            #expect(one.signals.contains { $0.contains(SignalKind.championLeft) })
            #expect(one.health == many.health)
            #expect(one.history == many.history)
            #expect(one.signals.count == many.signals.count)
            for (mine, theirs) in zip(many.signals, one.signals) { #expect(mine == theirs) }
        }
        await environment.tearDown()
    }

    @Test("Sweeps at some of the quiet midnights give the same health, history and signals as none (only when a signal was found differs)")
    func sweepsChangeNothing() async throws {
        let environment = try await IsolatedEnvironment.make("batching-swept")
        try await environment.withStore { store in
            // Applied first: its last event is after every midnight swept below, so no sweep touches it.
            for event in Self.stream(account: "unswept") { _ = try await store.apply([event], logger: store.testLogger) }
            var random = SplitMix64(state: 3)
            var sweeps = 0
            var previous: Date?
            for event in Self.stream(account: "swept") {
                if let last = previous {
                    var midnight = Timestamp.day(of: last).addingTimeInterval(86_400)
                    while midnight < event.timestamp {
                        // An escalator sweeps some time after the midnight (the sweep evaluates at the midnight).
                        if Int.random(in: 0..<2, using: &random) == 0 {
                            let at = min(midnight.addingTimeInterval(Double.random(in: 0..<86_400, using: &random)), event.timestamp)
                            sweeps += try await store.sweep(now: at, logger: store.testLogger).accounts
                        }
                        midnight.addTimeInterval(86_400)
                    }
                }
                _ = try await store.apply([event], logger: store.testLogger)
                previous = event.timestamp
            }
            #expect(sweeps > 3, "the stream's quiet weeks have midnights to sweep")
            func withoutRaisedAt(_ outcome: Outcome) -> Outcome {
                var outcome = outcome
                outcome.signals = outcome.signals.map {
                    $0.replacingOccurrences(of: #""raisedAt": ?"[^"]*", ?"#, with: "", options: .regularExpression)
                }
                return outcome
            }
            let unswept = withoutRaisedAt(try await Self.outcome("unswept", store))
            let swept = withoutRaisedAt(try await Self.outcome("swept", store))
            #expect(unswept.signals.contains { $0.contains(SignalKind.healthDropped) || $0.contains(SignalKind.healthBandChanged) })
            #expect(swept.health == unswept.health)
            #expect(swept.history == unswept.history)
            #expect(swept.signals == unswept.signals)
        }
        await environment.tearDown()
    }

    @Test("The context is the store's as before the batch: its users counted once, and those whose 30 days end within it with their time")
    func contextBeforeTheBatch() async throws {
        let environment = try await IsolatedEnvironment.make("batching-context")
        try await environment.withStore { store in
            let month: TimeInterval = 30 * 86_400
            let from = Self.start
            let now = Self.start.addingTimeInterval(6 * 3_600)
            let again = #"again "ü" \"#  // looked up in a JSON array: quotes, a backslash, non-ASCII
            func seen(_ user: String, at time: Date, traits: [String: JSONValue] = [:]) -> AccountEvent {
                AccountEvent(
                    messageId: "ctx-\(user)", type: traits.isEmpty ? .track : .identify, event: traits.isEmpty ? "Report Exported" : nil,
                    accountId: "ctx", userId: user, timestamp: time, traits: traits)
            }
            _ = try await store.apply(
                [
                    seen("steady", at: from.addingTimeInterval(-86_400), traits: ["role": "admin"]),  // active throughout
                    seen("fading", at: from.addingTimeInterval(-month + 3_600)),  // its 30 days end an hour into the batch
                    seen("gone", at: from.addingTimeInterval(-month - 3_600)),  // inactive throughout
                    seen(again, at: from.addingTimeInterval(-3_600)),  // active throughout, and in the batch
                ], logger: store.testLogger)
            let contexts = try await store.client.withConnection { connection in
                try await store.loadContexts(
                    ["ctx"], now: ["ctx": now], from: ["ctx": from],
                    batch: ["ctx": [seen(again, at: now), seen("newcomer", at: now, traits: ["role": "end_user"]),
                                    seen("fading", at: now, traits: ["role": "end_user"])]],
                    on: connection, logger: store.testLogger)
            }
            let context = try #require(contexts["ctx"])
            #expect(context.activeUsers == 1, "steady; again is in the batch, so the engine counts it by its time")
            #expect(context.lastSeen.keys.sorted() == [again, "fading"])
            #expect(context.activeUsers(at: from) == 3)
            #expect(context.activeUsers(at: now) == 2)
            #expect(context.people.map(\.userId) == ["steady"])
            #expect(context.others.map(\.userId) == ["fading"], "a batch user the batch gives a persona, with what is known of them")
            #expect(context.others.first?.activeDays == [Timestamp.epochDay(from.addingTimeInterval(-month + 3_600))])

            // The sweep (no batch) gets the plain count at its time.
            let sweep = try await store.client.withConnection { connection in
                try await store.loadContexts(["ctx"], now: ["ctx": now], on: connection, logger: store.testLogger)
            }
            #expect(sweep["ctx"]?.activeUsers == 2)
            #expect(sweep["ctx"]?.lastSeen.isEmpty == true)
            #expect(sweep["ctx"]?.others.isEmpty == true)
        }
        await environment.tearDown()
    }
}
