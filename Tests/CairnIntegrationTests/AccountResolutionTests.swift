import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// The learned user → account mapping: events that name only a user wait for an `identify` or `group` call to
/// tie that user to an account, then are applied exactly once.
@Suite("Account resolution", .serialized)
struct AccountResolutionTests {
    @Test("Events of a user with no known account are kept, then applied once an identify names the account")
    func parkedEventsAreAppliedWhenTheMappingArrives() async throws {
        let environment = try await IsolatedEnvironment.make("resolve")
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        defer { worker.kill() }
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let early = (0..<3).map { index in
            AccountEvent(
                messageId: "early-\(index)", type: .track, event: "Report Exported", accountId: nil, userId: "u-late",
                timestamp: start.addingTimeInterval(Double(index) * 3600))
        }
        try await environment.withAMQP { try await $0.publishConfirmed(early.map(\.message)) }
        let parked = try await environment.withStore { store in
            await eventually { (try? await store.integer("SELECT count(*)::int8 FROM pending_events")) == 3 }
        }
        #expect(parked, "events were not parked: \(worker.log)")
        let accountsBefore = try await environment.withStore { try await $0.integer("SELECT count(*)::int8 FROM accounts") }
        #expect(accountsBefore == 0)

        let identify = AccountEvent(
            messageId: "identify", type: .identify, accountId: "acme", userId: "u-late",
            timestamp: start.addingTimeInterval(86_400), traits: ["role": "admin", "accountId": "acme"])
        // A redelivery of a parked event and a new one by the same user, both still without an account.
        let later = AccountEvent(
            messageId: "later", type: .track, event: "Report Exported", accountId: nil, userId: "u-late",
            timestamp: start.addingTimeInterval(2 * 86_400))
        try await environment.withAMQP { try await $0.publishConfirmed([identify.message, early[0].message, later.message]) }

        let applied = try await environment.withStore { store in
            await eventually { (try? await store.account("acme", logger: store.testLogger)?.eventCount) == 5 }
        }
        #expect(applied, "parked events not applied: \(worker.log)")
        let (pending, activity, user, logged) = try await environment.withStore { store in
            (try await store.integer("SELECT count(*)::int8 FROM pending_events"),
             try await store.activityTotal(accountId: "acme", logger: store.testLogger),
             try await store.integer("SELECT event_count::int8 FROM users WHERE account_id = 'acme' AND user_id = 'u-late'"),
             try await store.integer("SELECT count(*)::int8 FROM events WHERE account_id = 'acme'"))
        }
        #expect(pending == 0)
        #expect(activity == 4)
        #expect(user == 5)
        #expect(logged == 5)
        #expect(await worker.terminate() == 0)
        await environment.tearDown()
    }

    @Test("With two workers racing, no event waits for a mapping that was already learned")
    func concurrentWorkersNeverStrandAnEvent() async throws {
        let environment = try await IsolatedEnvironment.make("resolve-race")
        let workers = try (1...2).map { index in
            try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)-\(index)")
        }
        defer { workers.forEach { $0.kill() } }
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        var events: [AccountEvent] = []
        for user in 0..<300 {
            for index in 0..<5 {
                events.append(AccountEvent(
                    messageId: "u\(user)-\(index)", type: .track, event: "Report Exported", accountId: nil,
                    userId: "user-\(user)", timestamp: start.addingTimeInterval(Double(index) * 60)))
            }
            events.append(AccountEvent(
                messageId: "u\(user)-identify", type: .identify, accountId: "acct-\(user % 40)", userId: "user-\(user)",
                timestamp: start, traits: ["role": "end_user"]))
        }
        var generator = SystemRandomNumberGenerator()
        events.shuffle(using: &generator)
        let stream = events
        try await environment.withAMQP { connection in
            for chunk in stride(from: 0, to: stream.count, by: 100) {
                try await connection.publishConfirmed(stream[chunk..<min(chunk + 100, stream.count)].map(\.message))
            }
        }
        let done = try await environment.withStore { store in
            await eventually(timeout: .seconds(60)) {
                (try? await store.integer("SELECT count(*)::int8 FROM events")) == stream.count
            }
        }
        let (pending, activity, accounts) = try await environment.withStore { store in
            (try await store.integer("SELECT count(*)::int8 FROM pending_events"),
             try await store.integer("SELECT COALESCE(sum(events), 0)::int8 FROM account_activity"),
             try await store.integer("SELECT count(*)::int8 FROM accounts"))
        }
        #expect(done, "not every event was applied; \(pending) still parked: \(workers[0].log)")
        #expect(pending == 0)
        #expect(activity == 1500)
        #expect(accounts == 40)
        for worker in workers { #expect(await worker.terminate() == 0) }
        await environment.tearDown()
    }
}
