import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// A worker, an escalator and an API process on one isolated environment, loaded with the journey test's thirty
/// accounts through RabbitMQ (plus names, CSMs, renewal dates and new champions, so every endpoint has data).
struct APIFixture {
    static let token = "dev-api-token"
    /// An account name that must always show as text.
    static let scriptName = "<script>window.__cairnInjected = 1</script> Corp"

    let environment: IsolatedEnvironment
    let processes: [CairnProcess]
    let port: Int
    let events: [AccountEvent]

    var api: CairnProcess { processes[2] }
    var logs: String { processes.map(\.log).joined(separator: "\n") }

    /// The journey test's stream with names, CSMs, renewal dates and new champions. Names and CSMs come first, so every task is routed to the account's CSM whenever the escalator handles it,
    /// and every event carries its arrival (`receivedAt`, as if sent live), so which signals are too old to start a
    /// play does not depend on how the worker happened to batch the stream.
    static func stream() -> [AccountEvent] {
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        let journey = JourneyIntegrationTests.stream().map { event in
            var event = event
            if event.event == CanonicalEvent.contractSigned {
                event.properties["renewalDate"] = .string(Timestamp.format(start.addingTimeInterval(100 * 86_400)))
            }
            return event
        }
        var events: [AccountEvent] = []
        var champions: [AccountEvent] = []
        for index in 0..<30 {
            let account = "acct-\(index)"
            let name = index == 7 ? scriptName : "Account \(index)"
            events.append(
                AccountEvent(
                    messageId: "\(account)-group", type: .group, event: nil, accountId: account, userId: "\(account)-admin",
                    timestamp: start, properties: [:], traits: ["name": .string(name)]))
            events.append(
                AccountEvent(
                    messageId: "\(account)-csm", type: .track, event: CanonicalEvent.csmAssigned, accountId: account,
                    userId: nil, timestamp: start.addingTimeInterval(60), properties: ["csmId": .string(index % 2 == 0 ? "dana" : "lee")]))
            if index < 4 {
                champions.append(
                    AccountEvent(
                        messageId: "\(account)-champion", type: .track, event: CanonicalEvent.contactRoleChanged, accountId: account,
                        userId: "\(account)-new", timestamp: start.addingTimeInterval(62 * 86_400),
                        properties: ["role": .string("champion")]))
            }
        }
        return (events + journey + champions).map { event in
            var event = event
            event.receivedAt = event.timestamp
            return event
        }
    }

    /// Starts the processes and waits until every event is applied and the champions' tasks exist.
    static func start(_ label: String, load: Bool = true) async throws -> APIFixture {
        let environment = try await IsolatedEnvironment.make(label)
        let port = try freePort()
        var processEnvironment = environment.processEnvironment(apiPort: port)
        processEnvironment["CAIRN_CLOCK"] = "stream"
        let processes = try ["worker", "escalator", "api"].map { role in
            try CairnProcess([role], environment: processEnvironment, logName: "\(role)-\(environment.name)")
        }
        let fixture = APIFixture(environment: environment, processes: processes, port: port, events: load ? stream() : [])
        let ready = await becomesReady(port: port)
        guard ready else { throw TestError("api not ready: \(fixture.logs)") }
        guard load else { return fixture }
        let events = fixture.events
        try await environment.withAMQP { connection in
            for chunk in stride(from: 0, to: events.count, by: 200) {
                try await connection.publishConfirmed(events[chunk..<min(chunk + 200, events.count)].map(\.message))
            }
        }
        let loaded = try await environment.withStore { store in
            await eventually(timeout: .seconds(90)) {
                let applied = try? await store.eventCount(logger: store.testLogger)
                let tasks = try? await store.integer("SELECT count(*)::int8 FROM tasks")
                let unsent = try? await store.unsentOutboxCount(logger: store.testLogger)
                // Every signal handled by the escalator, not just some: the tests read the tasks they made.
                let pending = try? await store.integer(
                    """
                    SELECT count(*)::int8 FROM outbox o WHERE o.exchange = 'cairn.signals'
                    AND NOT EXISTS (SELECT 1 FROM processed_messages p WHERE p.message_id = o.message_id)
                    """)
                return applied == events.count && (tasks ?? 0) >= 4 && unsent == 0 && pending == 0
            }
        }
        guard loaded else { throw TestError("events not applied: \(fixture.logs)") }
        return fixture
    }

    /// A GET with the bearer token (or `token`, or none).
    func get(_ path: String, token: String? = APIFixture.token) async throws -> HTTPResult {
        try await http(port: port, path: path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }

    /// A GET answered 200 with a JSON object.
    func json(_ path: String) async throws -> [String: Any] {
        let response = try await get(path)
        #expect(response.status == 200, "\(path): \(String(decoding: response.body, as: UTF8.self))")
        return try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any], "\(path)")
    }

    /// Events that move a healthy account's health down: months of silence, then an overdue invoice, an escalated
    /// ticket, a detractor score and the champion leaving.
    static func decline(_ account: String) -> [AccountEvent] {
        let late = Date(timeIntervalSince1970: 1_780_000_000 + 150 * 86_400)
        return [
            AccountEvent(messageId: "\(account)-late-1", type: .track, event: CanonicalEvent.invoiceOverdue, accountId: account,
                         userId: nil, timestamp: late, properties: ["invoiceId": "i9", "daysOverdue": 90]),
            AccountEvent(messageId: "\(account)-late-2", type: .track, event: CanonicalEvent.ticketOpened, accountId: account,
                         userId: nil, timestamp: late, properties: ["ticketId": "t9", "priority": "urgent"]),
            AccountEvent(messageId: "\(account)-late-3", type: .track, event: CanonicalEvent.ticketEscalated, accountId: account,
                         userId: nil, timestamp: late.addingTimeInterval(60), properties: ["ticketId": "t9"]),
            AccountEvent(messageId: "\(account)-late-4", type: .track, event: CanonicalEvent.npsSubmitted, accountId: account,
                         userId: "\(account)-champ", timestamp: late.addingTimeInterval(120), properties: ["score": 0]),
            AccountEvent(messageId: "\(account)-late-5", type: .track, event: CanonicalEvent.contactLeft, accountId: account,
                         userId: "\(account)-champ", timestamp: late.addingTimeInterval(180)),
        ]
    }

    func band(_ account: String) async throws -> String? {
        try await environment.withStore { store in try await store.account(account, logger: store.testLogger)?.health?.band }
    }

    func stop() async {
        for process in processes.reversed() { await process.terminate() }
        await environment.tearDown()
    }
}
