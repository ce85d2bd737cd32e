import CairnAMQP
import CairnApp
import CairnCore
import CairnStore
import CairnTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresNIO
import Synchronization
import Testing

/// Thousands of generated bad requests to `cairn ingest` and bad messages straight onto `cairn.events`, interleaved
/// with good events, against real processes. No 5xx, no crash, every bad request its 4xx with the JSON error body,
/// every bad message dead-lettered with its reason, every good event applied exactly once.
///
/// `CAIRN_BAD_INPUT_COUNT` bad inputs per channel (default 1,000); with `CAIRN_BAD_INPUT_REPORT=<file>` the
/// outcome table replaces the "Bad input" section of that file (RELIABILITY.md) between its markers, otherwise it
/// goes to the test artifacts.
@Suite("Bad input", .serialized)
struct BadInputTests {
    typealias Generator = BadInputGenerator

    static var count: Int { Int(TestInfrastructure.environment["CAIRN_BAD_INPUT_COUNT"] ?? "") ?? 1_000 }
    /// One good event after every `goodEvery - 1` bad inputs.
    static let goodEvery = 10

    /// Hands out indexes to the sending tasks.
    final class Ticket: Sendable {
        private let value = Atomic<Int>(0)
        func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
    }

    /// Outcomes counted per channel and class.
    final class Tally: Sendable {
        struct Row: Sendable {
            var sent = 0
            var outcomes: [String: Int] = [:]
            var serverErrors = 0
            var crashes = 0
        }
        let rows = Mutex([String: Row]())
        func record(_ key: String, outcome: String? = nil, times: Int = 1, serverError: Bool = false, sent: Bool = false) {
            rows.withLock { rows in
                if sent { rows[key, default: Row()].sent += 1 }
                if let outcome { rows[key, default: Row()].outcomes[outcome, default: 0] += times }
                if serverError { rows[key, default: Row()].serverErrors += 1 }
            }
        }
        func crash(_ key: String) { rows.withLock { $0[key, default: Row()].crashes += 1 } }
        var snapshot: [String: Row] { rows.withLock { $0 } }
    }

    @Test("Generated bad input over HTTP and AMQP: no 5xx, no crash, each refused as it should be, good events applied once")
    func badInputIsRefusedAndGoodInputSurvives() async throws {
        let environment = try await IsolatedEnvironment.make("badinput-gen")
        let port = try freePort()
        let ingest = try CairnProcess(["ingest"], environment: environment.processEnvironment(ingestPort: port), logName: "ingest-\(environment.name)")
        let worker = try CairnProcess(["worker"], environment: environment.processEnvironment(), logName: "worker-\(environment.name)")
        defer { ingest.kill(); worker.kill() }
        #expect(await becomesReady(port: port), "\(ingest.log)")

        let tally = Tally()
        let started = ContinuousClock.now
        let goodHTTP = try await sendHTTP(port: port, tally: tally, ingest: ingest)
        let goodAMQP = try await sendAMQP(environment, tally: tally, worker: worker)
        let badAMQP = Self.count

        // Every good event applied exactly once, every bad message dead-lettered with its reason.
        let goodTotal = goodHTTP + goodAMQP
        let applied = try await environment.withStore { store in
            await eventually(timeout: .seconds(120 + Self.count / 50)) {
                (try? await store.integer("SELECT count(*)::int8 FROM events WHERE message_id LIKE 'good-%'")) == goodTotal
            }
        }
        #expect(applied, "good events applied: \(worker.log.suffix(4000))")
        let (goodRows, goodDistinct) = try await environment.withStore { store in
            (try await store.integer("SELECT count(*)::int8 FROM events WHERE message_id LIKE 'good-%'"),
             try await store.integer("SELECT count(DISTINCT message_id)::int8 FROM events WHERE message_id LIKE 'good-%'"))
        }
        #expect(goodRows == goodTotal && goodDistinct == goodTotal, "\(goodRows) rows, \(goodDistinct) distinct, \(goodTotal) sent")
        let goodAMQPRows = try await environment.withStore { try await $0.integer("SELECT count(*)::int8 FROM events WHERE message_id LIKE 'good-amqp-%'") }
        tally.record("AMQP|good event (interleaved)", outcome: "applied once (counted in PostgreSQL)", times: goodAMQPRows)
        if goodAMQP > goodAMQPRows { tally.record("AMQP|good event (interleaved)", outcome: "not applied", times: goodAMQP - goodAMQPRows) }
        let badApplied = try await environment.withStore { try await $0.integer("SELECT count(*)::int8 FROM events WHERE message_id LIKE 'bad-%'") }
        #expect(badApplied == 0, "bad messages applied")

        let deadCount = { () async -> Int in
            (try? await environment.withAMQP { connection in
                try await DeadLetterQueue(queue: CairnTopology.deadEvents, connection: connection).peek(limit: 1).total
            }) ?? -1
        }
        let allDead = await eventually(timeout: .seconds(120 + Self.count / 50), every: .milliseconds(500)) { await deadCount() >= badAMQP }
        let deadNow = await deadCount()
        #expect(allDead, "dead letters: \(deadNow) of \(badAMQP)")
        let letters = try await environment.withAMQP { connection in
            try await DeadLetterQueue(queue: CairnTopology.deadEvents, connection: connection).peek(limit: .max).letters
        }
        var dead: [String: Int] = [:]
        for letter in letters {
            guard let id = letter.messageID, id.hasPrefix("bad-amqp-"), let kind = Int(id.split(separator: "-")[2]) else { continue }
            let outcome = letter.headers["x-cairn-error"].map { "dead-lettered: \(Self.reasonKind($0))" } ?? "dead-lettered without a reason"
            tally.record("AMQP|\(Generator.AMQPClass.allCases[kind].rawValue)", outcome: outcome)
            dead[id, default: 0] += 1
        }
        #expect(letters.count == badAMQP, "\(letters.count) dead letters for \(badAMQP) bad messages")
        #expect(letters.allSatisfy { $0.headers["x-cairn-error"] != nil })
        for kind in Generator.AMQPClass.allCases {
            let key = "AMQP|\(kind.rawValue)"
            let row = tally.snapshot[key] ?? .init()
            let missing = row.sent - row.outcomes.values.reduce(0, +)
            if missing > 0 { tally.record(key, outcome: "not dead-lettered (applied or lost)") }
            #expect(missing == 0, "\(kind.rawValue): \(missing) of \(row.sent) not dead-lettered")
        }

        // Still alive and well after all that.
        #expect(ingest.isRunning && worker.isRunning, "ingest: \(ingest.log.suffix(2000)) worker: \(worker.log.suffix(2000))")
        #expect((try? await http(port: port, path: "/healthz"))?.status == 200)
        if !ingest.isRunning { tally.crash("HTTP|process") }
        if !worker.isRunning { tally.crash("AMQP|process") }
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        try Self.writeReport(tally.snapshot, goodHTTP: goodHTTP, goodAMQP: goodAMQP, seconds: seconds,
                             alive: ingest.isRunning && worker.isRunning)
        #expect(await ingest.terminate() == 0)
        #expect(await worker.terminate() == 0)
        await environment.tearDown()
    }

    /// Sends `count` bad requests (classes in turn) and a good one after every nine; returns the good ones sent.
    func sendHTTP(port: Int, tally: Tally, ingest: CairnProcess) async throws -> Int {
        let total = Self.count + Self.count / (Self.goodEvery - 1)
        var random = Generator.Random(state: 9)
        // Made up front so the sending tasks only send.
        var requests: [(key: String, good: Bool, request: Generator.HTTPRequest)] = []
        var bad = 0
        for n in 0..<total {
            if n % Self.goodEvery == Self.goodEvery - 1 || bad == Self.count {
                let body = Generator.data(Generator.goodTrack("good-http-\(n)", n))
                requests.append(("HTTP|good event (interleaved)", true, .init(body: body)))
            } else {
                let kind = Generator.HTTPClass.allCases[bad % Generator.HTTPClass.allCases.count]
                requests.append(("HTTP|\(kind.rawValue)", false, Generator.request(kind, n, &random)))
                bad += 1
            }
        }
        let next = Ticket()
        let list = requests
        try await withThrowingDiscardingTaskGroup { group in
            for _ in 0..<8 {
                group.addTask {
                    while true {
                        let index = next.next()
                        guard index < list.count else { return }
                        let (key, good, request) = list[index]
                        tally.record(key, sent: true)
                        let outcome: String
                        var serverError = false
                        do {
                            let result = try await http(port: port, path: request.path, body: request.body, headers: request.headers)
                            serverError = result.status >= 500
                            let code = ((try? JSONSerialization.jsonObject(with: result.body)) as? [String: Any])
                                .flatMap { $0["error"] as? [String: Any] }.flatMap { $0["code"] as? String }
                            if good {
                                outcome = result.status == 200 ? "200 accepted" : "\(result.status) (a good event refused)"
                            } else if (400..<500).contains(result.status) {
                                outcome = code.map { "\(result.status) \($0)" } ?? "\(result.status) without the JSON error body"
                            } else {
                                outcome = "\(result.status) (not a 4xx)"
                            }
                        } catch {
                            outcome = "no response (\(type(of: error)))"
                        }
                        tally.record(key, outcome: outcome, serverError: serverError)
                        if !ingest.isRunning { tally.crash(key) }
                    }
                }
            }
        }
        for (key, row) in tally.snapshot where key.hasPrefix("HTTP|") {
            let good = key.hasSuffix("(interleaved)")
            for (outcome, count) in row.outcomes {
                let expected = good ? outcome == "200 accepted" : outcome.first == "4" && outcome.contains(" ") && !outcome.contains("without")
                #expect(expected, "\(key): \(count) × \(outcome)")
            }
            #expect(row.serverErrors == 0, "\(key): \(row.serverErrors) 5xx")
        }
        return requests.filter(\.good).count
    }

    /// Publishes `count` bad messages straight onto `cairn.events` (classes in turn) and a good event after every
    /// nine; returns the good ones sent.
    func sendAMQP(_ environment: IsolatedEnvironment, tally: Tally, worker: CairnProcess) async throws -> Int {
        let total = Self.count + Self.count / (Self.goodEvery - 1)
        var random = Generator.Random(state: 17)
        var messages: [(key: String, message: AMQPMessage)] = []
        var bad = 0
        var good = 0
        for n in 0..<total {
            if n % Self.goodEvery == Self.goodEvery - 1 || bad == Self.count {
                let id = "good-amqp-\(n)"
                messages.append(("AMQP|good event (interleaved)", AMQPMessage(
                    exchange: CairnTopology.events, routingKey: "bad-input-\(n % 20)", body: Array(Generator.data(Generator.goodEvent(id, n))),
                    messageID: id)))
                good += 1
            } else {
                let index = bad % Generator.AMQPClass.allCases.count
                let kind = Generator.AMQPClass.allCases[index]
                messages.append(("AMQP|\(kind.rawValue)", AMQPMessage(
                    exchange: CairnTopology.events, routingKey: "bad-input-\(n % 20)", body: Generator.message(kind, n, &random),
                    messageID: "bad-amqp-\(index)-\(n)")))
                bad += 1
            }
        }
        let list = messages
        try await environment.withAMQP { connection in
            for chunk in stride(from: 0, to: list.count, by: 200) {
                let slice = list[chunk..<min(chunk + 200, list.count)]
                try await connection.publishConfirmed(slice.map(\.message))
                for item in slice { tally.record(item.key, sent: true) }
                if !worker.isRunning { tally.crash(slice.first!.key) }
            }
        }
        return good
    }

    /// A dead letter's reason without its particulars (values, positions, sizes), so like reasons count together.
    static func reasonKind(_ reason: String) -> String {
        var text = reason
        for separator in [" (", ", got", "; got", " at byte"] {
            if let range = text.range(of: separator) { text = String(text[..<range.lowerBound]) }
        }
        text = text.replacingOccurrences(of: "(?<![-0-9])[0-9]+", with: "N", options: .regularExpression)
            .replacingOccurrences(of: "|", with: "\\|")
        return text.count > 70 ? String(text.prefix(70)) + "…" : text
    }

    static let begin = "<!-- bad-input:begin (generated by BadInputTests; do not edit by hand) -->"
    static let end = "<!-- bad-input:end -->"

    /// The outcome table as Markdown.
    static func table(_ rows: [String: Tally.Row], goodHTTP: Int, goodAMQP: Int, seconds: Double, alive: Bool) -> String {
        var lines = [
            "Generated by `BadInputTests` with \(count) bad inputs per channel (\(goodHTTP) good HTTP and \(goodAMQP) good AMQP events "
                + "interleaved), in \(Int(seconds)) s. Processes alive and healthy at the end: \(alive ? "yes" : "**no**").",
            "",
            "| channel | class | sent | outcome | count | 5xx | crashes |",
            "|---|---|---:|---|---:|---:|---:|",
        ]
        let order = Generator.HTTPClass.allCases.map { "HTTP|\($0.rawValue)" } + ["HTTP|good event (interleaved)"]
            + Generator.AMQPClass.allCases.map { "AMQP|\($0.rawValue)" } + ["AMQP|good event (interleaved)"]
        for key in order {
            guard let row = rows[key] else { continue }
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            for (index, (outcome, number)) in row.outcomes.sorted(by: { $0.value > $1.value }).enumerated() {
                lines.append(index == 0
                    ? "| \(parts[0]) | \(parts[1]) | \(row.sent) | \(outcome) | \(number) | \(row.serverErrors) | \(row.crashes) |"
                    : "| | | | \(outcome) | \(number) | | |")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func writeReport(_ rows: [String: Tally.Row], goodHTTP: Int, goodAMQP: Int, seconds: Double, alive: Bool) throws {
        let table = table(rows, goodHTTP: goodHTTP, goodAMQP: goodAMQP, seconds: seconds, alive: alive)
        guard let path = TestInfrastructure.environment["CAIRN_BAD_INPUT_REPORT"] else {
            try FileManager.default.createDirectory(at: TestInfrastructure.artifacts, withIntermediateDirectories: true)
            try Data((table + "\n").utf8).write(to: TestInfrastructure.artifacts.appendingPathComponent("bad-input.md"))
            return
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let start = text.range(of: begin), let stop = text.range(of: end), start.upperBound <= stop.lowerBound else {
            throw TestError("\(path) has no \(begin) ... \(end) markers")
        }
        let updated = text[..<start.upperBound] + "\n" + table + "\n" + text[stop.lowerBound...]
        try Data(updated.utf8).write(to: URL(fileURLWithPath: path))
    }
}
