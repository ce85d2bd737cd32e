import CairnAMQP
import CairnTesting
import Foundation
import Testing

/// `CAIRN_INGEST_RATE_LIMIT`: one token bucket per write key, counted in events.
@Suite("Ingest rate limit", .serialized)
struct RateLimitTests {
    static func batch(_ ids: [String]) -> Data {
        json(#"{"batch":[\#(ids.map { #"{"type":"track","messageId":"\#($0)","event":"x","context":{"groupId":"acme"}}"# }.joined(separator: ","))]}"#)
    }

    @Test("A key over its limit gets 429 with Retry-After and nothing queued; another key is unaffected; after Retry-After it works again")
    func keyOverItsLimit() async throws {
        let environment = try await IsolatedEnvironment.make("ratelimit")
        let port = try freePort()
        var processEnvironment = environment.processEnvironment(ingestPort: port)
        processEnvironment["CAIRN_WRITE_KEYS"] = "busy-key:crm,calm-key:billing"
        // 0.05 events a second: a bucket of one event that takes 20 s to refill, so the refusal below holds on a
        // loaded CI machine (a 1.9 s window, then a 5 s one, were both outlasted by a first request whose publish
        // waited on a broker busy with every other test's queues).
        processEnvironment["CAIRN_INGEST_RATE_LIMIT"] = "0.05"
        let ingest = try CairnProcess(["ingest"], environment: processEnvironment, logName: "ingest-\(environment.name)")
        defer { ingest.kill() }
        #expect(await becomesReady(port: port), "\(ingest.log)")
        let busy = ["Authorization": basicAuth("busy-key")]
        let calm = ["Authorization": basicAuth("calm-key")]

        let first = ["busy-0"]
        #expect(try await http(port: port, path: "/v1/batch", body: Self.batch(first), headers: busy).status == 200)
        // A batch larger than the bucket needs the whole bucket: refused unless 20 s passed since the first request.
        let over = (0..<19).map { "over-\($0)" }
        let refused = try await http(port: port, path: "/v1/batch", body: Self.batch(over), headers: busy)
        #expect(refused.status == 429)
        let retryAfter = try #require(refused.headers["Retry-After"].flatMap { Int($0) }, "\(refused.headers)")
        #expect((1...20).contains(retryAfter))
        let error = (try JSONSerialization.jsonObject(with: refused.body) as? [String: Any])?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "rate_limited")
        #expect((error?["message"] as? String)?.isEmpty == false)
        // The other key still has its whole bucket.
        let others = ["calm-0"]
        #expect(try await http(port: port, path: "/v1/batch", body: Self.batch(others), headers: calm).status == 200)

        try await Task.sleep(for: .seconds(retryAfter))
        let retried = ["retry-0"]
        #expect(try await http(port: port, path: "/v1/batch", body: Self.batch(retried), headers: busy).status == 200)

        // As many as were accepted: a refused event would have been queued between them, so it would be among them.
        // The generous timeout only matters when some are missing (a loaded machine can take seconds to subscribe).
        let accepted = first + others + retried
        let queued = try await environment.withAMQP {
            await $0.peekEvents(count: accepted.count, timeout: .seconds(30))
        }
        #expect(Set(queued.compactMap(\.messageID)) == Set(accepted), "refused events must not be queued")
        let metrics = String(decoding: try await http(port: port, path: "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"cairn_ingest_requests_refused_total{code="rate_limited"} 1"#), "\(metrics)")
        #expect(await ingest.terminate() == 0)
        await environment.tearDown()
    }
}
