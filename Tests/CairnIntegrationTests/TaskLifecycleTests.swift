import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// Tasks after they are created: people act on them, time moves them, managers hear about late ones.
@Suite("Task lifecycle", .serialized)
struct TaskLifecycleTests {
    static let start = Date(timeIntervalSince1970: 1_780_000_000)

    static func signal(_ id: String, _ kind: String, account: String, day: Double, _ data: [String: JSONValue] = [:]) -> Signal {
        Signal(signalId: id, kind: kind, accountId: account, at: start.addingTimeInterval(day * 86_400), data: data)
    }

    /// Accounts with a CSM (dana) or without (pooled), and the engine's real plays.
    static func seed(_ store: Store, accounts: [(id: String, csm: String?, arr: Double)]) async throws {
        var events: [AccountEvent] = []
        for account in accounts {
            events.append(AccountEvent(
                messageId: "\(account.id)-contract", type: .track, event: CanonicalEvent.contractSigned, accountId: account.id,
                timestamp: start, properties: ["arr": .number(account.arr)]))
            if let csm = account.csm {
                events.append(AccountEvent(
                    messageId: "\(account.id)-csm", type: .track, event: CanonicalEvent.csmAssigned, accountId: account.id,
                    timestamp: start, properties: ["csmId": .string(csm)]))
            }
        }
        _ = try await store.apply(events, logger: store.testLogger)
    }

    static func handle(_ store: Store, _ signals: [Signal]) async throws -> SignalOutcome {
        let configuration = store.engine
        return try await store.handle(signals, logger: store.testLogger) { signal, account in
            Escalation.plan(for: signal, account: account, configuration: configuration, now: signal.at)
        }
    }

    @Test("A task is acknowledged, snoozed, reopened by the sweep and done, with its history and a touchpoint fed back")
    func lifecycle() async throws {
        let environment = try await IsolatedEnvironment.make("tasks")
        let result = try await environment.withStore { store in
            try await Self.seed(store, accounts: [("acme", "dana", 400_000)])
            let outcome = try await Self.handle(store, [Self.signal("s1", SignalKind.npsDetractor, account: "acme", day: 1, ["score": 2])])
            let listed = try await store.tasks(assignee: "csm.dana", statuses: ["open"], limit: 10, logger: store.testLogger)
            let id = try #require(listed.first?.taskId)
            let day = { (day: Double) in Self.start.addingTimeInterval(day * 86_400) }
            try await store.perform(.acknowledge, on: id, actor: "dana", now: day(1.1), logger: store.testLogger)
            let again = await #expect(throws: TaskActionError.self) {
                try await store.perform(.acknowledge, on: id, actor: "dana", now: day(1.2), logger: store.testLogger)
            }
            await #expect(throws: TaskActionError.self) {
                try await store.perform(.snooze(until: day(1)), on: id, actor: "dana", now: day(1.2), logger: store.testLogger)
            }
            try await store.perform(.snooze(until: day(3)), on: id, actor: "dana", now: day(1.3), logger: store.testLogger)
            let early = try await store.sweepTasks(now: day(2), logger: store.testLogger)
            let woken = try await store.sweepTasks(now: day(3.5), logger: store.testLogger)
            let done = try await store.perform(.done(note: "called them"), on: id, actor: "dana", now: day(4), logger: store.testLogger)
            await #expect(throws: TaskActionError.self) {
                try await store.perform(.dismiss(reason: "x"), on: id, actor: "dana", now: day(5), logger: store.testLogger)
            }
            let missing = await #expect(throws: TaskActionError.self) {
                try await store.perform(.acknowledge, on: "no-such-task", actor: nil, logger: store.testLogger)
            }
            let touchpoints = try await store.integer(
                "SELECT count(*)::int8 FROM outbox WHERE exchange = 'cairn.events' AND message_id = \("task-done-\(id)")")
            return (outcome, listed.count, again?.code, early.reopened, woken.reopened, done, missing?.code, touchpoints)
        }
        #expect(result.0.created == 1)
        #expect(result.1 == 1)
        #expect(result.2 == .conflict)
        #expect(result.3 == 0, "not woken before its time")
        #expect(result.4 == 1)
        #expect(result.5.status == "done")
        #expect(result.5.history.map(\.action) == ["created", "acknowledged", "snoozed", "reopened", "done"])
        #expect(result.5.history.last?.detail == .object(["note": "called them"]))
        #expect(result.6 == .notFound)
        #expect(result.7 == 1, "closing the task logs a touchpoint on the account, once")
        await environment.tearDown()
    }

    @Test("A closed play waits out its cool-down; a repeated signal refreshes the open task instead of making another")
    func cooldownAndOneOpenPlay() async throws {
        let environment = try await IsolatedEnvironment.make("cooldown")
        let counts = try await environment.withStore { store in
            try await Self.seed(store, accounts: [("acme", "dana", 400_000)])
            let red = { (id: String, day: Double) in
                Self.signal(id, SignalKind.healthBandChanged, account: "acme", day: day, ["from": "yellow", "to": "red"])
            }
            let first = try await Self.handle(store, [red("r1", 1), red("r2", 2)])
            let id = try #require(try await store.tasks(assignee: "csm.dana", statuses: ["open"], limit: 5, logger: store.testLogger).first?.taskId)
            try await store.perform(
                .done(note: nil), on: id, actor: "dana", now: Self.start.addingTimeInterval(3 * 86_400), logger: store.testLogger)
            let within = try await Self.handle(store, [red("r3", 6)])  // health-red cools down for 7 days
            let after = try await Self.handle(store, [red("r4", 11)])
            return (first, within, after)
        }
        #expect(counts.0.created == 1)
        #expect(counts.0.updated == 1)
        #expect(counts.1.cooledDown == 1 && counts.1.created == 0)
        #expect(counts.2.created == 1)
        await environment.tearDown()
    }

    @Test("Pool tasks go to the least-loaded member; late tasks nobody acknowledged go to the manager once")
    func poolsAndManagers() async throws {
        let environment = try await IsolatedEnvironment.make("pools")
        var engine = EngineConfiguration.standard
        engine.roster = Roster(
            csms: ["dana": .init(manager: "lee")],
            pools: ["mid-market": .init(members: ["ana", "ben"], assignment: .leastLoaded, manager: "kim")])
        let result = try await environment.withStore(engine: engine) { store in
            try await Self.seed(store, accounts: [("m1", nil, 50_000), ("m2", nil, 60_000), ("m3", nil, 70_000), ("e1", "dana", 500_000)])
            _ = try await Self.handle(store, ["m1", "m2", "m3", "e1"].map { Self.signal("d-\($0)", SignalKind.npsDetractor, account: $0, day: 1) })
            let pool = try await store.tasks(assignee: "pool.mid-market", statuses: ["open"], limit: 10, logger: store.testLogger)
            let members = pool.sorted { $0.accountId < $1.accountId }.compactMap(\.member)
            // detractor-nps is due in 2 business days; a week later nobody acknowledged anything.
            let late = try await store.sweepTasks(now: Self.start.addingTimeInterval(9 * 86_400), logger: store.testLogger)
            let lateAgain = try await store.sweepTasks(now: Self.start.addingTimeInterval(10 * 86_400), logger: store.testLogger)
            var routes: [String] = []
            for try await key in try await store.client.query(
                "SELECT routing_key FROM outbox WHERE message_id LIKE '%/late' ORDER BY routing_key").decode(String.self) {
                routes.append(key)
            }
            return (members, late.escalated, lateAgain.escalated, routes)
        }
        #expect(result.0 == ["ana", "ben", "ana"])
        #expect(result.1 == 4)
        #expect(result.2 == 0)
        #expect(result.3 == ["manager.kim", "manager.kim", "manager.kim", "manager.lee"])
        await environment.tearDown()
    }

    @Test("cairn tasks lists a queue and acts on a task from the terminal; an unknown task is a clear error")
    func commandLine() async throws {
        let environment = try await IsolatedEnvironment.make("tasks-cli")
        let id = try await environment.withStore { store in
            try await Self.seed(store, accounts: [("acme", "dana", 400_000)])
            _ = try await Self.handle(store, [Self.signal("s1", SignalKind.ticketEscalated, account: "acme", day: 1)])
            return try #require(try await store.tasks(assignee: "csm.dana", statuses: ["open"], limit: 1, logger: store.testLogger).first?.taskId)
        }
        func cairn(_ arguments: [String], _ name: String) async throws -> (Int32, String) {
            let process = try CairnProcess(arguments, environment: environment.processEnvironment(), logName: "\(name)-\(environment.name)")
            defer { process.kill() }
            return (await process.exitStatus(within: .seconds(20)) ?? -1, process.log)
        }
        let (listStatus, list) = try await cairn(["tasks", "list", "--assignee", "csm.dana"], "tasks-list")
        #expect(listStatus == 0)
        #expect(list.contains(id) && list.contains("support-escalation"), "\(list)")
        let (ackStatus, ack) = try await cairn(["tasks", "ack", id, "--actor", "dana"], "tasks-ack")
        #expect(ackStatus == 0)
        #expect(ack.contains("\(id): acknowledged (csm.dana)"), "\(ack)")
        let (reassignStatus, _) = try await cairn(["tasks", "reassign", id, "--to", "csm.lee"], "tasks-reassign")
        #expect(reassignStatus == 0)
        let (missingStatus, missing) = try await cairn(["tasks", "done", "no-such-task"], "tasks-missing")
        #expect(missingStatus != 0)
        #expect(missing.contains("no task no-such-task"), "\(missing)")
        let assignee = try await environment.withStore { store in try await store.task(id, logger: store.testLogger)?.assignee }
        #expect(assignee == "csm.lee")
        await environment.tearDown()
    }
}
