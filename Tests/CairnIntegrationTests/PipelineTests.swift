import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresNIO
import Testing

/// The walking skeleton's promises, end to end on a real RabbitMQ and PostgreSQL, with `cairn` roles running as
/// separate processes. Each test has its own vhost and database.
@Suite("Pipeline", .serialized)
struct PipelineTests {
    @Test("An event POSTed to ingest is in PostgreSQL within seconds")
    func ingestedEventIsStored() async throws {
        let environment = try await IsolatedEnvironment.make("ingest")
        let port = try freePort()
        let ingest = try CairnProcess(["ingest"], environment: environment.processEnvironment(ingestPort: port), logName: "ingest-\(environment.name)")
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        defer { ingest.kill(); worker.kill() }

        let body = #"{"userId":"u1","event":"Report Exported","context":{"groupId":"acme"},"messageId":"m-1"}"#
        let ready = await becomesReady(port: port)
        #expect(ready, "ingest did not become ready: \(ingest.log)")
        let status = try await post(port: port, path: "/v1/track", body: body)
        #expect(status == 200)

        let stored = try await environment.withStore { store in
            await eventually(timeout: .seconds(10)) { (try? await store.activityTotal(accountId: "acme", logger: store.testLogger)) == 1 }
        }
        #expect(stored, "event not applied: \(worker.log)")
        let account = try await environment.withStore { try await $0.account("acme", logger: $0.testLogger) }
        #expect(account?.eventCount == 1)
        #expect(await ingest.terminate() == 0)
        #expect(await worker.terminate() == 0)
        await environment.tearDown()
    }

    @Test("The same event published five times is counted once")
    func duplicatesAreCountedOnce() async throws {
        let environment = try await IsolatedEnvironment.make("dedup")
        let metricsPort = try freePort()
        var processEnvironment = environment.processEnvironment()
        processEnvironment["CAIRN_METRICS_PORT"] = String(metricsPort)
        let worker = try CairnProcess(["worker"], environment: processEnvironment, logName: "worker-\(environment.name)")
        defer { worker.kill() }

        let event = AccountEvent.usage(messageId: "same-id", accountId: "acme", userId: "u1", at: Date())
        let marker = AccountEvent.usage(messageId: "marker", accountId: "acme", userId: "u1", at: Date())
        try await environment.withAMQP { connection in
            try await connection.publishConfirmed(Array(repeating: event.message, count: 5) + [marker.message])
        }
        // The marker was published last, to the same account's queue (FIFO), so once it is applied the duplicates were handled too.
        let applied = try await environment.withStore { store in
            await eventually { (try? await store.integer("SELECT count(*)::int8 FROM events WHERE message_id = 'marker'")) == 1 }
        }
        #expect(applied, "marker not applied: \(worker.log)")
        let (count, activity) = try await environment.withStore { store in
            (try await store.account("acme", logger: store.testLogger)?.eventCount,
             try await store.activityTotal(accountId: "acme", logger: store.testLogger))
        }
        #expect(count == 2)
        #expect(activity == 2)
        let metrics = String(decoding: try await http(port: metricsPort, path: "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("cairn_worker_events_applied_total 2"), "\(metrics)")
        #expect(try await http(port: metricsPort, path: "/readyz").status == 200)
        #expect(try await http(port: metricsPort, path: "/healthz").status == 200)
        #expect(metrics.contains("cairn_worker_events_duplicate_total 4"))
        // All six went to acme's work queue, whichever of the eight the hash picked.
        #expect(metrics.range(of: #"cairn_consumer_messages_total\{queue="cairn\.events\.work\.[0-7]",outcome="applied"\} 6\n"#,
                              options: .regularExpression) != nil, "\(metrics)")
        #expect(await worker.terminate() == 0)
        await environment.tearDown()
    }

    @Test("A worker killed mid-batch and restarted applies each of 10,000 events exactly once")
    func killedWorkerLosesAndDoublesNothing() async throws {
        let environment = try await IsolatedEnvironment.make("kill")
        let total = 10_000
        let events = AccountEvent.usageStream(count: total, accounts: 100, users: 700)
        try await environment.withAMQP { connection in
            for chunk in stride(from: 0, to: total, by: 1000) {
                try await connection.publishConfirmed(events[chunk..<min(chunk + 1000, total)].map(\.message))
            }
        }

        let first = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)-1")
        defer { first.kill() }
        let appliedBeforeKill = try await environment.withStore { store in
            var applied = 0
            _ = await eventually(timeout: .seconds(60), every: .milliseconds(5)) {
                applied = (try? await store.integer("SELECT count(*)::int8 FROM events")) ?? 0
                return applied >= 1000
            }
            return applied
        }
        first.kill()
        let appliedAtKill = try await environment.withStore { try await $0.integer("SELECT count(*)::int8 FROM events") }
        #expect(appliedBeforeKill >= 1000, "worker applied nothing: \(first.log)")
        #expect(appliedAtKill < total, "the worker finished before it could be killed; the test proves nothing")

        let second = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)-2")
        defer { second.kill() }
        let done = try await environment.withStore { store in
            await eventually(timeout: .seconds(120)) {
                (try? await store.integer("SELECT count(*)::int8 FROM events")) == total
            }
        }
        #expect(done, "not every event was applied: \(second.log)")
        let (eventCounts, activity, users) = try await environment.withStore { store in
            (try await store.integer("SELECT sum(event_count)::int8 FROM accounts"),
             try await store.integer("SELECT sum(events)::int8 FROM account_activity"),
             try await store.integer("SELECT sum(event_count)::int8 FROM users"))
        }
        #expect(eventCounts == total)
        #expect(activity == total)
        #expect(users == total)
        let dead = try await environment.withAMQP { await $0.peek(queue: CairnTopology.deadEvents, timeout: .milliseconds(500)) }
        #expect(dead.isEmpty)
        #expect(await second.terminate() == 0)
        await environment.tearDown()
    }

    @Test("A malformed message is dead-lettered with its reason and the events after it are processed")
    func malformedMessagesAreDeadLettered() async throws {
        let environment = try await IsolatedEnvironment.make("poison")
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        defer { worker.kill() }

        var missingAccount = AccountEvent.usage(messageId: "no-account", accountId: "acme", userId: "u1", at: Date()).message
        missingAccount.body = Array(#"{"messageId":"no-account","type":"track","event":"x","timestamp":"2026-11-23T08:00:00Z"}"#.utf8)
        let garbage = AMQPMessage(exchange: CairnTopology.events, routingKey: "acme", body: Array("{not json".utf8), messageID: "garbage")
        let good = AccountEvent.usage(messageId: "good", accountId: "acme", userId: "u1", at: Date())
        let messages = [garbage, missingAccount, good.message]
        try await environment.withAMQP { try await $0.publishConfirmed(messages) }

        let applied = try await environment.withStore { store in
            await eventually { (try? await store.integer("SELECT count(*)::int8 FROM events WHERE message_id = 'good'")) == 1 }
        }
        #expect(applied, "the good event was not applied: \(worker.log)")
        let dead = try await environment.withAMQP { await $0.peek(queue: CairnTopology.deadEvents, count: 2, timeout: .seconds(30)) }
        let reasons = Dictionary(uniqueKeysWithValues: dead.map { ($0.messageID ?? "-", $0.headers["x-cairn-error"] ?? "") })
        #expect(reasons.count == 2)
        #expect(reasons["garbage"]?.contains("not valid JSON") == true)
        #expect(reasons["no-account"]?.contains("accountId") == true)
        #expect(await worker.terminate() == 0)
        await environment.tearDown()
    }

    @Test("A new champion on an account with a CSM gives exactly one task on the CSM's queue, even when delivered twice")
    func newChampionGivesOneTask() async throws {
        let environment = try await IsolatedEnvironment.make("task")
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        let escalator = try CairnProcess(["escalator"], environment: environment.processEnvironment(), logName: "escalator-\(environment.name)")
        defer { worker.kill(); escalator.kill() }

        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))  // whole seconds survive JSON exactly
        let assigned = AccountEvent(
            messageId: "assign", type: .track, event: CanonicalEvent.csmAssigned, accountId: "acme", userId: "ana",
            timestamp: now.addingTimeInterval(-60), properties: ["csmId": .string("dana")])
        // A high-touch (enterprise) account: its work goes to its named CSM.
        let signed = AccountEvent(
            messageId: "signed", type: .track, event: CanonicalEvent.contractSigned, accountId: "acme", userId: "ana",
            timestamp: now.addingTimeInterval(-120), properties: ["arr": 400_000])
        let champion = AccountEvent(
            messageId: "champion", type: .track, event: CanonicalEvent.contactRoleChanged, accountId: "acme",
            userId: "ben", timestamp: now, properties: ["role": .string("champion")])
        try await environment.withAMQP { try await $0.publishConfirmed([signed.message, assigned.message, champion.message, champion.message]) }

        let created = try await environment.withStore { store in
            await eventually {
                // Other plays may start too (a health band set by the first batch changing with the second).
                let tasks = try? await store.integer(
                    "SELECT count(*)::int8 FROM tasks WHERE kind = 'task' AND playbook = 'new-key-contact'")
                let unsent = try? await store.unsentOutboxCount(logger: store.testLogger)
                return tasks == 1 && unsent == 0
            }
        }
        #expect(created, "no task: \(worker.log)\n\(escalator.log)")

        // The signal itself delivered again must not make a second task either.
        let signal = try await environment.withStore { store in
            try await store.integer("SELECT count(*)::int8 FROM outbox WHERE routing_key = 'contact.role_changed'")
        }
        #expect(signal == 1)
        let signalPayload = try await environment.withStore { store in
            for try await payload in try await store.client.query(
                "SELECT payload FROM outbox WHERE routing_key = 'contact.role_changed'").decode(String.self)
            {
                return payload
            }
            return ""
        }
        try await environment.withAMQP { connection in
            try await connection.publishConfirmed(
                AMQPMessage(exchange: CairnTopology.signals, routingKey: SignalKind.contactRoleChanged, body: Array(signalPayload.utf8)))
        }

        let messages = try await environment.withAMQP { await $0.peek(queue: "cairn.tasks.csm.dana", count: 10, timeout: .seconds(10)) }
        let tasks = try messages.map { try TaskMessage.parse($0.body) }.filter { $0.playbook == "new-key-contact" }
        #expect(tasks.count == 1)
        let task = try #require(tasks.first)
        #expect(task.playbook == "new-key-contact")
        #expect(task.assignee.destination == "csm.dana")
        #expect(task.steps == ["Introduce yourself", "Schedule training", "Confirm goals and buy-in"])
        #expect(task.priority == "P2")
        #expect(task.dueAt == Escalation.addBusinessDays(5, to: champion.timestamp))
        let taskRows = try await environment.withStore {
            try await $0.integer("SELECT count(*)::int8 FROM tasks WHERE kind = 'task' AND playbook = 'new-key-contact'")
        }
        #expect(taskRows == 1)
        // The play also welcomes the new champion by email, once, through cairn.outreach.
        let outreach = try await environment.withAMQP { await $0.peek(queue: CairnTopology.outreach, count: 5, timeout: .seconds(10)) }
        let welcomes = try outreach.map { try OutreachMessage.parse($0.body) }.filter { $0.playbook == "new-key-contact" }
        #expect(welcomes.count == 1)
        #expect(welcomes.first?.contentKey == "welcome-new-champion")
        #expect(await worker.terminate() == 0)
        #expect(await escalator.terminate() == 0)
        await environment.tearDown()
    }
}

extension AccountEvent {
    static func usage(messageId: String, accountId: String, userId: String, at: Date) -> AccountEvent {
        AccountEvent(messageId: messageId, type: .track, event: "Report Exported", accountId: accountId, userId: userId, timestamp: at)
    }

    /// `count` usage events a minute apart, message ids `<prefix>-<index>`, over `accounts` accounts and `users` users
    /// taken in turn.
    static func usageStream(_ prefix: String = "e", count: Int, accounts: Int, users: Int) -> [AccountEvent] {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        return (0..<count).map { index in
            usage(
                messageId: "\(prefix)-\(index)", accountId: "acct-\(index % accounts)", userId: "u-\(index % users)",
                at: start.addingTimeInterval(Double(index) * 60))
        }
    }

    var message: AMQPMessage {
        AMQPMessage(exchange: CairnTopology.events, routingKey: routingKey, body: encoded(), messageID: messageId)
    }
}

extension Store {
    var testLogger: Logger { TestInfrastructure.logger("cairn.test") }
}

/// POSTs (or GETs, without a body) to a local role and returns the status code.
func post(port: Int, path: String, body: String?, writeKey: String = "dev-write-key") async throws -> Int {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = body == nil ? "GET" : "POST"
    request.setValue("Basic \(Data("\(writeKey):".utf8).base64EncodedString())", forHTTPHeaderField: "Authorization")
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = body.map { Data($0.utf8) }
    let (_, response) = try await URLSession.shared.data(for: request)
    return (response as? HTTPURLResponse)?.statusCode ?? 0
}
