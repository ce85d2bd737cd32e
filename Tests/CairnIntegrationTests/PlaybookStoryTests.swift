import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// Every shipped play through real RabbitMQ and PostgreSQL: its signal, delivered three times to two
/// escalators, gives exactly one task on the account's CSM queue (one message id; the relay may resend a copy under
/// it), with the play's steps, priority and due date.
@Suite("Playbook stories", .serialized)
struct PlaybookStoryTests {
    /// A signal for each shipped play.
    static func signals(account: String, at: Date) -> [(String, Signal)] {
        func signal(_ play: String, _ kind: String, _ data: [String: JSONValue]) -> Signal {
            Signal(signalId: "\(play)/\(account)/story", kind: kind, accountId: account, at: at, data: data)
        }
        return [
            ("new-key-contact", signal("new-key-contact", SignalKind.contactRoleChanged, ["role": "champion", "userId": "neo"])),
            ("champion-left", signal("champion-left", SignalKind.championLeft, ["userId": "cho", "role": "champion"])),
            ("health-yellow", signal("health-yellow", SignalKind.healthBandChanged, ["from": "green", "to": "yellow", "score": 60])),
            ("health-red", signal("health-red", SignalKind.healthBandChanged, ["from": "yellow", "to": "red", "score": 30])),
            ("health-drop", signal("health-drop", SignalKind.healthDropped, ["from": 85, "to": 55])),
            ("milestone-missed", signal("milestone-missed", SignalKind.milestoneMissed, ["milestone": "kickoff"])),
            ("first-90-days", signal("first-90-days", SignalKind.stageEntered, ["stage": "onboarding"])),
            ("detractor-nps", signal("detractor-nps", SignalKind.npsDetractor, ["score": 2])),
            ("licenses-underused", signal("licenses-underused", SignalKind.licenseUnderused, ["utilization": 0.3])),
            ("upsell", signal("upsell", SignalKind.licenseUtilizationHigh, ["utilization": 0.95])),
            ("renewal", signal("renewal", SignalKind.renewalWindowOpened, ["days": 90])),
            ("invoice-overdue", signal("invoice-overdue", SignalKind.invoiceOverdue, ["daysOverdue": 20])),
            ("support-escalation", signal("support-escalation", SignalKind.ticketEscalated, ["priority": "high"])),
            ("maturity-review", signal("maturity-review", SignalKind.maturityAnniversary, ["years": 3])),
            ("advocacy-ask", signal("advocacy-ask", SignalKind.npsPromoter, ["score": 10])),
        ]
    }

    @Test("Each shipped play's signal, delivered three times to two escalators, gives one task with its steps, priority and due date")
    func everyPlayOnce() async throws {
        let environment = try await IsolatedEnvironment.make("plays")
        // "first-90-days" needs the account in onboarding; "advocacy-ask" a green account: an enterprise account
        // in onboarding, healthy, with its CSM.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let setup = [
            AccountEvent(messageId: "signed", type: .track, event: CanonicalEvent.contractSigned, accountId: "globex",
                         timestamp: now.addingTimeInterval(-86_400), properties: ["arr": 500_000]),
            AccountEvent(messageId: "csm", type: .track, event: CanonicalEvent.csmAssigned, accountId: "globex",
                         timestamp: now.addingTimeInterval(-86_400), properties: ["csmId": "dana"]),
            AccountEvent(messageId: "welcome", type: .track, event: CanonicalEvent.welcomeSent, accountId: "globex",
                         timestamp: now.addingTimeInterval(-3_600)),
        ]
        try await environment.withStore { store in
            _ = try await store.apply(setup, logger: store.testLogger)
            try await store.client.query("UPDATE health SET band = 'green', score = 90 WHERE account_id = 'globex'")
            // Only the story's own signals count: drop the ones the setup raised.
            try await store.client.query("DELETE FROM outbox")
        }
        let escalators = try (1...2).map { index in
            try CairnProcess(["escalator"], environment: environment.processEnvironment(), logName: "escalator-\(environment.name)-\(index)")
        }
        defer { escalators.forEach { $0.kill() } }
        let stories = Self.signals(account: "globex", at: now)
        try await environment.withAMQP { connection in
            for _ in 0..<3 {
                try await connection.publishConfirmed(stories.map {
                    AMQPMessage(exchange: CairnTopology.signals, routingKey: $0.1.kind, body: $0.1.encoded(), messageID: $0.1.signalId)
                })
            }
        }
        let done = try await environment.withStore { store in
            await eventually(timeout: .seconds(30)) {
                let tasks = try? await store.integer("SELECT count(*)::int8 FROM tasks WHERE kind = 'task'")
                let unsent = try? await store.unsentOutboxCount(logger: store.testLogger)
                return tasks == stories.count && unsent == 0
            }
        }
        #expect(done, "\(escalators[0].log)\n\(escalators[1].log)")
        let messages = try await environment.withAMQP { await $0.peek(queue: "cairn.tasks.csm.dana", count: 40, timeout: .seconds(10)) }
        // The relay delivers at least once: a round whose confirm came after PostgreSQL had ended its transaction
        // (the broker stalled for longer than the idle-transaction timeout) is sent again, under the same message id,
        // and consumers drop the copy by that id (README, "Transactional outbox"). So: one message id per task, and a
        // copy only ever repeats its original byte for byte. A second task would be a second id.
        let byID = Dictionary(grouping: messages, by: { $0.messageID ?? "" })
        let seen = messages.map { "\($0.messageID ?? "-")\($0.redelivered ? " (redelivered)" : "")" }.joined(separator: "\n")
        let logs = "\(escalators[0].log)\n\(escalators[1].log)"
        #expect(byID[""] == nil, "every task message has an id:\n\(seen)")
        #expect(byID.count == stories.count, "one message id per play:\n\(seen)\n\(logs)")
        for (id, copies) in byID where copies.count > 1 {
            #expect(Set(copies.map(\.body)).count == 1, "\(id): a resent copy differs from its original")
        }
        if messages.count > byID.count {
            print("PlaybookStoryTests: \(messages.count - byID.count) resent copies (same ids) on the queue:\n\(logs)")
        }
        let tasks = try byID.values.compactMap(\.first).map { try TaskMessage.parse($0.body) }
        #expect(Set(tasks.map(\.taskId)).count == tasks.count, "one task per message id")
        let byPlay = Dictionary(grouping: tasks, by: \.playbook)
        #expect(Set(byPlay.keys) == Set(stories.map(\.0)), "missing \(Set(stories.map(\.0)).subtracting(byPlay.keys))")
        for (play, signal) in stories {
            let expected = try #require(Playbook.catalogue.first { $0.id == play })
            let task = try #require(byPlay[play]?.first, "no task for \(play)")
            #expect(byPlay[play]?.count == 1, "\(play) twice")
            #expect(task.steps == expected.steps, "\(play)")
            #expect(task.priority == expected.priority, "\(play)")
            #expect(task.title == expected.title, "\(play)")
            #expect(task.dueAt == Escalation.addBusinessDays(expected.dueInBusinessDays, to: signal.at), "\(play)")
            #expect(task.assignee.destination == "csm.dana", "\(play)")
            #expect(task.trigger.kind == signal.kind, "\(play)")
            #expect(task.segment == "enterprise" && task.accountId == "globex", "\(play)")
        }
        for escalator in escalators { #expect(await escalator.terminate() == 0) }
        await environment.tearDown()
    }

    @Test("A task written but not yet published (the escalator died before its relay ran) is published once after restart")
    func writtenTaskIsPublishedAfterRestart() async throws {
        let environment = try await IsolatedEnvironment.make("plays-restart")
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        // The escalator's transaction, without the process that would relay it: exactly the state a kill -9
        // between commit and publish leaves behind.
        let written = try await environment.withStore { store in
            _ = try await store.apply([
                AccountEvent(messageId: "signed", type: .track, event: CanonicalEvent.contractSigned, accountId: "initech",
                             timestamp: now, properties: ["arr": 500_000]),
                AccountEvent(messageId: "csm", type: .track, event: CanonicalEvent.csmAssigned, accountId: "initech",
                             timestamp: now, properties: ["csmId": "dana"]),
            ], logger: store.testLogger)
            try await store.client.query("DELETE FROM outbox")
            let signal = Signal(signalId: "escalated-1", kind: SignalKind.ticketEscalated, accountId: "initech", at: now, data: [:])
            let configuration = store.engine
            return try await store.handle([signal], logger: store.testLogger) { signal, account in
                Escalation.plan(for: signal, account: account, configuration: configuration, now: now)
            }
        }
        #expect(written.created == 1)
        let before = try await environment.withAMQP { await $0.peek(queue: "cairn.tasks.csm.dana", count: 2, timeout: .milliseconds(500)) }
        #expect(before.isEmpty, "nothing is published before a relay runs")
        let restarted = try CairnProcess(["escalator"], environment: environment.processEnvironment(), logName: "escalator-\(environment.name)")
        defer { restarted.kill() }
        let relayed = try await environment.withStore { store in
            await eventually(timeout: .seconds(20)) { (try? await store.unsentOutboxCount(logger: store.testLogger)) == 0 }
        }
        #expect(relayed, "\(restarted.log)")
        let after = try await environment.withAMQP { await $0.peek(queue: "cairn.tasks.csm.dana", count: 3, timeout: .seconds(10)) }
        #expect(after.count == 1)
        #expect(try after.first.map { try TaskMessage.parse($0.body).playbook } == "support-escalation")
        #expect(await restarted.terminate() == 0)
        await environment.tearDown()
    }
}
