import CairnApp
import CairnTesting
import Foundation
import Hummingbird
import Testing

/// `cairn bench-http`'s client against a local server: what it counts is what was answered.
@Suite("HTTP load client")
struct HTTPLoadTests {
    @Test("Every response's latency is kept, Content-Length and chunked bodies alike; non-2xx are counted; nothing listening is errors, not a hang")
    func recordsEveryResponse() async throws {
        let port = try freePort()
        let router = Router()
        router.get("/fixed") { _, _ in "a body with its length" }
        router.get("/chunked") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "first chunk,"))
                try await writer.write(ByteBuffer(string: " second"))
                try await writer.finish(nil)
            })
        }
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService() }
            defer { group.cancelAll() }
            #expect(await becomesReady(port: port, path: "/fixed"))
            let load = HTTPLoad(
                host: "127.0.0.1", port: port, paths: ["/fixed", "/chunked", "/missing"], headers: [("X-Test", "1")],
                connections: 2, duration: .seconds(1))
            let result = try await load.run()
            // More than a round of the three paths on each connection; no rate is asked (the machine may be busy).
            #expect(result.requests > 6, "\(result)")
            #expect(result.latency.count == result.requests)
            #expect(result.errors == 0, "\(result)")
            // Each connection goes round the three paths, so a third of the answers are 404.
            #expect(abs(result.non2xx * 3 - result.requests) <= 6, "\(result)")
            #expect(result.latency.p50 > 0 && result.latency.p50 <= result.latency.p99 && result.latency.p99 <= result.latency.max)
        }
        let refused = try await HTTPLoad(
            host: "127.0.0.1", port: try freePort(), paths: ["/"], headers: [], connections: 1, duration: .milliseconds(300)
        ).run()
        #expect(refused.requests == 0 && refused.errors > 0, "\(refused)")
    }

    @Test("POST requests carry their JSON bodies whole, with their length, on keep-alive connections")
    func postsBodies() async throws {
        let port = try freePort()
        let bodies = [Array(#"{"batch":[1,2,3]}"#.utf8), Array(String(repeating: "x", count: 70_000).utf8)]
        let router = Router()
        router.get("/ready") { _, _ in "ready" }
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let whole = bodies.contains(Array(buffer: body)) && request.headers[.contentType] == "application/json"
            return Response(status: whole ? .ok : .badRequest)
        }
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService() }
            defer { group.cancelAll() }
            #expect(await becomesReady(port: port, path: "/ready"))
            let load = HTTPLoad(
                host: "127.0.0.1", port: port,
                requests: bodies.map { HTTPLoad.Request(method: "POST", path: "/echo", body: $0) }, headers: [],
                connections: 2, duration: .seconds(1))
            let result = try await load.run()
            // More requests than connections: some went on a kept-alive connection. (No rate is asked: a busy
            // machine managed 6 in the second.)
            #expect(result.requests > 2 && result.non2xx == 0 && result.errors == 0, "\(result)")
        }
    }
}
