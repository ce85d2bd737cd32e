import CairnAMQP
import CairnApp
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// `cairn dead-letters` against a real broker and a real worker: looking changes nothing, a replay applies a fixed
/// message exactly once and removes only it, the still-bad ones stay with their reasons.
@Suite("Dead letters", .serialized)
struct DeadLetterTests {
    static func run(_ environment: IsolatedEnvironment, _ arguments: [String], _ name: String, amqpURL: String? = nil) async throws -> (Int32, String) {
        var processEnvironment = environment.processEnvironment()
        if let amqpURL { processEnvironment["CAIRN_AMQP_URL"] = amqpURL }
        processEnvironment["LOG_LEVEL"] = "error"
        let process = try CairnProcess(["dead-letters"] + arguments, environment: processEnvironment, logName: "\(name)-\(environment.name)")
        defer { process.kill() }
        // Alone a command takes about a second; on a loaded CI machine the broker once stalled one past 30 s. A hang still fails.
        return (await process.exitStatus(within: .seconds(120)) ?? -1, process.log)
    }

    /// The dead letters of the environment, looked at the way the command does (they stay in the queue).
    static func deadLetters(_ environment: IsolatedEnvironment) async throws -> [DeadLetter] {
        try await environment.withAMQP { connection in
            try await DeadLetterQueue(queue: CairnTopology.deadEvents, connection: connection).peek(limit: 1000).letters
        }
    }

    static func event(_ id: String, account: String = "acme") -> [UInt8] {
        AccountEvent.usage(messageId: id, accountId: account, userId: "u1", at: Date()).encoded()
    }

    @Test("The dead-letter queue has no delivery limit, so looking (get, then requeue) can never drop a message")
    func deadQueueHasNoDeliveryLimit() {
        #expect(CairnTopology.deadLetterQueues == [CairnTopology.deadEvents])
        let queue = CairnTopology.core.queues.first { $0.name == CairnTopology.deadEvents }
        #expect(queue?.arguments["x-delivery-limit"] == nil)
        #expect(queue?.arguments["x-dead-letter-exchange"] == nil)
    }

    @Test("list and show leave dead letters in place; replay --id applies a fixed one exactly once; --dry-run changes nothing")
    func listShowReplay() async throws {
        let environment = try await IsolatedEnvironment.make("deadletters")
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        defer { worker.kill() }

        // Poison through the real worker, plus a good event and one with an unknown field (which the validator
        // ignores). Then two dead letters crafted directly with valid bodies: one as a role refuses a message, one
        // as the broker dead-letters after the delivery limit.
        var unknownField = try #require(try JSONSerialization.jsonObject(with: Data(Self.event("unknown-field"))) as? [String: Any])
        unknownField["colour"] = "blue"
        let unknownFieldBody = Array(try JSONSerialization.data(withJSONObject: unknownField))
        @Sendable func message(_ id: String, _ body: [UInt8]) -> AMQPMessage {
            AMQPMessage(exchange: CairnTopology.events, routingKey: "acme", body: body, messageID: id)
        }
        var fixable = AMQPMessage(exchange: CairnTopology.dead, routingKey: CairnTopology.eventsWork(partition: 3), body: Self.event("fixable"), messageID: "fixable")
        fixable.headers = ["x-cairn-error": "rejected while applying: account acme unknown", "x-cairn-queue": CairnTopology.eventsWork(partition: 3),
                           "x-cairn-exchange": CairnTopology.events, "x-cairn-routing-key": "acme"]
        var overLimit = AMQPMessage(exchange: CairnTopology.dead, routingKey: "acme", body: Self.event("over-limit"), messageID: "over-limit")
        overLimit.headers = ["x-first-death-reason": "delivery_limit", "x-first-death-queue": CairnTopology.eventsWork(partition: 5),
                             "x-first-death-exchange": CairnTopology.events]
        let crafted = [fixable, overLimit]
        try await environment.withAMQP { connection in
            try await connection.publishConfirmed([
                message("good", Self.event("good")),
                message("bad-json", Array(#"{"messageId": "bad-json", "type": "track", "#.utf8)),
                message("bad-type", Array(#"{"messageId":"bad-type","type":"track","event":"x","accountId":"acme","timestamp":42}"#.utf8)),
                message("bad-missing", Array(#"{"messageId":"bad-missing","type":"track","event":"x","timestamp":"2026-01-01T00:00:00Z"}"#.utf8)),
                message("unknown-field", unknownFieldBody), crafted[0], crafted[1],
            ])
        }
        let arrived = await eventually { ((try? await Self.deadLetters(environment))?.count ?? 0) == 5 }
        let seen = (try? await Self.deadLetters(environment))?.map(\.messageID) ?? []
        #expect(arrived, "dead letters: \(seen) \(worker.log)")

        // list, three times: the same five in the same order, each with its reason, still in the queue.
        var orders: [[String]] = []
        for round in 1...3 {
            let (status, output) = try await Self.run(environment, ["list", "--json"], "dl-list-\(round)")
            #expect(status == 0, "\(output)")
            let listed = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
            orders.append(listed.map { $0["messageId"] as? String ?? "-" })
            let reasons = Dictionary(listed.map { ($0["messageId"] as? String ?? "-", $0["reason"] as? String ?? "") }) { a, _ in a }
            #expect(Set(reasons.keys) == ["bad-json", "bad-type", "bad-missing", "fixable", "over-limit"], "\(output)")
            #expect(reasons["bad-json"]?.contains("not valid JSON") == true, "\(reasons)")
            #expect(reasons["bad-type"]?.contains("timestamp") == true, "\(reasons)")
            #expect(reasons["bad-missing"]?.contains("accountId") == true, "\(reasons)")
            #expect(reasons["over-limit"]?.contains("delivery_limit") == true, "\(reasons)")
        }
        #expect(orders.allSatisfy { $0 == orders[0] }, "looking keeps the queue's order: \(orders)")
        let (tableStatus, table) = try await Self.run(environment, ["list", "--limit", "2"], "dl-list-table")
        #expect(tableStatus == 0)
        #expect(table.contains("5 dead letters in cairn.dead.events, the first 2:"), "\(table)")

        let (showStatus, shown) = try await Self.run(environment, ["show", "fixable"], "dl-show")
        #expect(showStatus == 0)
        #expect(shown.contains("reason:       rejected while applying: account acme unknown"), "\(shown)")
        #expect(shown.contains("replays to:   cairn.events, routing key acme"), "\(shown)")
        #expect(shown.contains(#""messageId" : "fixable""#), "pretty JSON body: \(shown)")
        let (unknownStatus, unknown) = try await Self.run(environment, ["show", "no-such-id"], "dl-show-unknown")
        #expect(unknownStatus != 0)
        #expect(unknown.contains("no dead letter with messageId no-such-id"), "\(unknown)")

        let (dryStatus, dry) = try await Self.run(environment, ["replay", "--all", "--dry-run"], "dl-dry-run")
        #expect(dryStatus == 0)
        #expect(dry.contains("would replay 5 of 5"), "\(dry)")
        #expect(try await Self.deadLetters(environment).count == 5, "--dry-run changes nothing")

        let (replayStatus, replayed) = try await Self.run(environment, ["replay", "--id", "fixable", "--id", "over-limit"], "dl-replay")
        #expect(replayStatus == 0, "\(replayed)")
        #expect(replayed.contains("replayed 2 of 5"), "\(replayed)")
        let applied = try await environment.withStore { store in
            await eventually {
                (try? await store.integer("SELECT count(*)::int8 FROM events WHERE message_id IN ('fixable', 'over-limit')")) == 2
            }
        }
        #expect(applied, "replayed events not applied: \(worker.log)")

        // Replaying everything: the still-bad ones come straight back with their reasons, and the command ends.
        let (allStatus, all) = try await Self.run(environment, ["replay", "--all"], "dl-replay-all")
        #expect(allStatus == 0, "\(all)")
        #expect(all.contains("replayed 3 of 3"), "\(all)")
        let back = await eventually {
            Set((try? await Self.deadLetters(environment))?.compactMap(\.messageID) ?? []) == ["bad-json", "bad-type", "bad-missing"]
        }
        let remaining = (try? await Self.deadLetters(environment))?.map(\.messageID) ?? []
        #expect(back, "\(remaining)")
        let letters = try await Self.deadLetters(environment)
        #expect(letters.allSatisfy { $0.headers["x-cairn-error"] != nil }, "\(letters.map(\.headers))")

        let counts = try await environment.withStore { store in
            try await store.integer(
                "SELECT count(*)::int8 FROM events WHERE message_id IN ('good', 'unknown-field', 'fixable', 'over-limit')")
        }
        #expect(counts == 4, "each good or fixed event applied exactly once")
        let (missingStatus, missing) = try await Self.run(environment, ["replay", "--id", "no-such-id"], "dl-replay-unknown")
        #expect(missingStatus != 0)
        #expect(missing.contains("no dead letter with messageId no-such-id"), "\(missing)")
        #expect(await worker.terminate() == 0)
        await environment.tearDown()
    }

    @Test("Data PostgreSQL refuses is described in its own words for the dead letter's reason, not as a dump")
    func refusedDataReadsAsPostgreSQLSaidIt() async throws {
        let environment = try await IsolatedEnvironment.make("deadletters-reason")
        // Built without validation, which refuses NUL: PostgreSQL cannot store it in text or jsonb.
        let event = AccountEvent(messageId: "nul", type: .track, event: "a\u{0}b", accountId: "acme", timestamp: Date())
        let reason = try await environment.withStore { store in
            do {
                _ = try await store.apply([event], logger: store.testLogger)
                return "applied"
            } catch {
                #expect(Store.isDataError(error))
                return Store.describe(error)
            }
        }
        #expect(reason.hasPrefix("PostgreSQL refused it: ") && reason.contains("(SQLSTATE 22"), "\(reason)")
        await environment.tearDown()
    }

    @Test("An empty queue has nothing to replay (exit 0); an unreachable broker is a clear error")
    func emptyQueueAndNoBroker() async throws {
        let environment = try await IsolatedEnvironment.make("deadletters-empty")
        let (emptyStatus, empty) = try await Self.run(environment, ["replay", "--all"], "dl-empty")
        #expect(emptyStatus == 0)
        #expect(empty.contains("nothing to replay"), "\(empty)")
        let (listStatus, list) = try await Self.run(environment, ["list"], "dl-empty-list")
        #expect(listStatus == 0)
        #expect(list.contains("no dead letters"), "\(list)")
        let port = try freePort()
        let (downStatus, down) = try await Self.run(environment, ["list"], "dl-no-broker", amqpURL: "amqp://guest:guest@127.0.0.1:\(port)/%2f")
        #expect(downStatus != 0 && downStatus != -1)
        #expect(down.contains("cannot reach RabbitMQ"), "\(down)")
        await environment.tearDown()
    }
}
