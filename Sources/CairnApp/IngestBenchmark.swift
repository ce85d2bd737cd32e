import CairnAMQP
import CairnHTTP
import CairnIngest
import Foundation
public import Logging
import Prometheus
import ServiceLifecycle

/// HTTP ingest on the broker the rest of the benchmark uses: `cairn ingest` (in this process, as the role builds it)
/// takes `POST /v1/batch` requests of `batchSize` track events on `connections` keep-alive connections for
/// `duration`, and answers each only after the broker confirmed its events. Compared with publishing straight to
/// `cairn.events` with confirms, measured in the same run (`PipelineBenchmark.measurePublish`). Nothing consumes
/// meanwhile: the events stay queued on the work queues (`cairn.events.work.<n>`), so this runs last.
public struct IngestBenchmark: Sendable {
    public var batchSize = 100
    public var connections = 32
    public var duration: Duration = .seconds(10)

    let settings: CairnSettings
    let logger: Logger

    public init(settings: CairnSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public struct Result: Sendable, Codable {
        public var batchSize: Int
        public var connections: Int
        public var requests: Int
        public var seconds: Double
        public var eventsPerSecond: Double
        /// Responses that were not 2xx, and connections that failed: both count as a failed measurement.
        public var non2xx: Int
        public var errors: Int
        /// Per request (one batch), over every response.
        public var latency: LatencySummary
    }

    /// The write key the benchmark's own ingest accepts; it is never configured anywhere else.
    static let writeKey = "cairn-bench-write-key"

    public func run() async throws -> Result {
        var configuration = IngestConfiguration(
            writeKeys: [.init(digest: SecretDigest(hashing: Self.writeKey), source: "bench")])
        configuration.host = "127.0.0.1"
        configuration.port = 0  // the kernel picks a free port; the server says which once it listens
        configuration.rateLimit = 0  // what ingest itself can take, not what a key is allowed
        let publishers = (0..<max(1, settings.ingestPublishers)).map { index in
            var amqp = settings.amqp
            amqp.connectionName += " bench ingest \(index + 1)"
            return AMQPConnection(configuration: amqp, topology: CairnTopology.core, logger: logger)
        }
        let (listening, port) = AsyncStream.makeStream(of: Int.self)
        let application = buildIngestApplication(
            configuration: configuration, publishers: PublisherPool(publishers), metrics: PrometheusCollectorRegistry(),
            logger: logger, onListening: { port.yield($0) })
        let (batchSize, connections) = (self.batchSize, self.connections)
        let bodies = (0..<16).map { body in
            let items = (0..<batchSize).map { index in
                #"{"type":"track","userId":"u\#(body)-\#(index)","event":"Report Exported","context":{"groupId":"bench-http-\#(body)-\#(index)"},"properties":{"plan":"pro","seats":25}}"#
            }
            return Array(#"{"batch":[\#(items.joined(separator: ","))]}"#.utf8)
        }
        let requests = bodies.map { HTTPLoad.Request(method: "POST", path: "/v1/batch", body: $0) }
        let headers = [("Authorization", "Basic " + Data("\(Self.writeKey):".utf8).base64EncodedString())]
        let (host, duration) = (configuration.host, self.duration)
        // The server stops gracefully before its publishers' connections close, as the role's service group stops it.
        let server = ServiceGroup(configuration: .init(services: [.init(service: application)], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { brokers in
            for publisher in publishers { brokers.addTask { try await publisher.run() } }
            defer { brokers.cancelAll() }
            return try await withThrowingTaskGroup(of: Void.self) { serving in
                serving.addTask {
                    defer { port.finish() }  // a server that could not start ends the wait for its port
                    try await server.run()
                }
                let result: HTTPLoad.Result
                do {
                    guard let port = await listening.first(where: { _ in true }), port > 0 else {
                        throw BenchmarkError(description: "the benchmark's ingest did not say which port it listens on")
                    }
                    try await Self.waitUntilReady(host: host, port: port)
                    result = try await HTTPLoad(
                        host: host, port: port, requests: requests, headers: headers, connections: connections, duration: duration
                    ).run()
                } catch {
                    await server.triggerGracefulShutdown()
                    throw error
                }
                await server.triggerGracefulShutdown()
                try await serving.waitForAll()
                return Result(
                    batchSize: batchSize, connections: connections, requests: result.requests, seconds: result.seconds,
                    eventsPerSecond: Double(result.requests * batchSize) / result.seconds, non2xx: result.non2xx,
                    errors: result.errors, latency: result.latency)
            }
        }
    }

    /// Polls `/readyz` (the broker is connected) for up to 60 s.
    static func waitUntilReady(host: String, port: Int) async throws {
        let address = try HTTPLoad.resolve(host: host, port: port)
        let request = Array("GET /readyz HTTP/1.1\r\nHost: \(host):\(port)\r\n\r\n".utf8)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let status = try? HTTPConnection(address: address).exchange(request), status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchmarkError(description: "the benchmark's ingest was not ready within 60 s")
    }
}
