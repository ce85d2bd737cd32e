import CairnAMQP
import CairnCore
import CairnTesting
import Foundation
import Testing

/// A real Segment client library (segment-analytics-python, see test-tools/) pointed at `cairn ingest`.
@Suite("Segment client", .serialized)
struct SegmentClientTests {
    @Test("Events sent by the Segment Python library arrive on cairn.events as sent", arguments: [false, true])
    func segmentLibraryEventsArriveAsSent(gzip: Bool) async throws {
        let environment = try await IsolatedEnvironment.make("segment")
        let port = try freePort()
        let ingest = try CairnProcess(["ingest"], environment: environment.processEnvironment(ingestPort: port), logName: "ingest-\(environment.name)")
        defer { ingest.kill() }
        #expect(await becomesReady(port: port), "\(ingest.log)")

        let output = TestInfrastructure.artifacts.appendingPathComponent("segment-sent-\(environment.name).json")
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = [
            TestInfrastructure.environment["CAIRN_TEST_PYTHON"] ?? "python3", "test-tools/segment_client.py",
            "--host", "http://127.0.0.1:\(port)", "--write-key", "dev-write-key", "--out", output.path, "--count", "30",
        ] + (gzip ? ["--gzip"] : [])
        let errors = try TestInfrastructure.outputFile("segment-client-\(environment.name)-\(gzip ? "gzip" : "plain").txt")
        client.standardError = errors.handle
        try client.run()
        let status = await client.exited()
        try? errors.handle.close()
        let stderr = (try? String(contentsOf: errors.url, encoding: .utf8)) ?? ""
        #expect(status == 0, "segment client failed: \(stderr)\n\(ingest.log)")

        let records = try JSONDecoder().decode([SentRecord].self, from: Data(contentsOf: output))
        var sent: [String: [String: JSONValue]] = [:]
        for record in records where record.status == 200 {
            if case .string(let id)? = record.message["messageId"] { sent[id] = record.message }
        }
        #expect(sent.count >= 30)
        let expected = sent.count
        let queued = try await environment.withAMQP {
            await $0.peekEvents(count: expected, timeout: .seconds(10))
        }
        let events = Dictionary(try queued.map { try AccountEvent.parse($0.body) }.map { ($0.messageId, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(events.count == sent.count)
        for (id, message) in sent {
            guard let event = events[id] else {
                Issue.record("\(id) was answered 200 but is not on the queue")
                continue
            }
            check(event, against: message)
        }
        #expect(await ingest.terminate() == 0)
        await environment.tearDown()
    }

    /// Compares one queued event with the message the library sent.
    func check(_ event: AccountEvent, against message: [String: JSONValue]) {
        let type = message["type"]?.stringValue ?? "?"
        let properties = message["properties"]?.objectValue ?? [:]
        let traits = message["traits"]?.objectValue ?? [:]
        let context = message["context"]?.objectValue ?? [:]
        #expect(event.userId == (message["userId"]?.stringValue ?? message["anonymousId"]?.stringValue), "\(event.messageId)")
        #expect(event.properties == properties, "\(event.messageId) properties")
        #expect(event.traits == traits, "\(event.messageId) traits")
        #expect(event.context == context, "\(event.messageId) context")
        let account = [
            type == "group" ? message["groupId"]?.stringValue : nil, context["groupId"]?.stringValue,
            properties["accountId"]?.stringValue, traits["accountId"]?.stringValue,
        ].compactMap { $0 }.first
        #expect(event.accountId == account, "\(event.messageId) account")
        switch type {
        case "track": #expect(event.type == .track && event.event == message["event"]?.stringValue)
        case "identify": #expect(event.type == .identify)
        case "group": #expect(event.type == .group)
        case "page", "screen":
            let name = message["name"]?.stringValue ?? "?"
            #expect(event.type == .track && event.event == "Viewed \(name) \(type == "page" ? "Page" : "Screen")")
        default: Issue.record("unexpected type \(type)")
        }
        // The library sends sentAt; ingest corrects for the sender's clock skew (receivedAt - sentAt), which on one
        // machine is the request's transit time: well under a second.
        if let sentTime = message["timestamp"]?.stringValue.flatMap(Timestamp.parse) {
            #expect(abs(event.timestamp.timeIntervalSince(sentTime)) < 1, "\(event.messageId) timestamp")
        } else {
            Issue.record("\(event.messageId): the library sent no timestamp")
        }
    }
}

struct SentRecord: Decodable {
    let status: Int?
    let message: [String: JSONValue]
}
