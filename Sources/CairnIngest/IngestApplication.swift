public import CairnAMQP
import CairnCore
import CairnHTTP
import CompressNIO
import Metrics
public import Prometheus
import Foundation
public import Hummingbird
public import Logging
import NIOCore

/// `cairn ingest`: the Segment-compatible HTTP API. Answers 200 only after the broker confirmed every event of
/// the request; 503 with `Retry-After` while the broker is away. `onListening` is told the port once the server
/// listens (the kernel's choice when `configuration.port` is 0).
public func buildIngestApplication(
    configuration: IngestConfiguration, publishers: PublisherPool, metrics: PrometheusCollectorRegistry, logger: Logger,
    onListening: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: JSONErrorMiddleware())
    router.addMetricsRoute(metrics)
    let handler = IngestHandler(
        writeKeys: configuration.writeKeys, publishers: publishers,
        limiter: RateLimiter(rate: configuration.rateLimit, burst: configuration.rateBurst),
        streamClock: configuration.streamClock)
    router.get("/healthz") { _, _ in try jsonResponse(["status": "ok"]) }
    router.get("/readyz") { _, _ in
        guard publishers.isConnected else { throw HTTPErrorResponse.unavailable("broker not connected") }
        return try jsonResponse(["status": "ready"])
    }
    for type in ["track", "identify", "group", "page", "screen"] {
        router.post("/v1/\(type)") { request, context in
            try await handler.handle(request, context: context, type: type)
        }
    }
    router.post("/v1/batch") { request, context in
        try await handler.handle(request, context: context, type: nil)
    }
    return Application(
        router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
        onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
}

struct IngestHandler: Sendable {
    let writeKeys: [IngestConfiguration.WriteKey]
    let publishers: PublisherPool
    let limiter: RateLimiter
    let streamClock: Bool

    /// - Parameter type: the call type, or nil for `/v1/batch`.
    func handle(_ request: Request, context: some RequestContext, type: String?) async throws -> Response {
        let inFlight = Meter(label: "cairn_ingest_requests_in_flight")
        inFlight.increment()
        defer { inFlight.decrement() }
        do {
            return try await accept(request, context: context, type: type)
        } catch let error as HTTPErrorResponse {
            Counter(label: "cairn_ingest_requests_refused_total", dimensions: [("code", error.code)]).increment()
            throw error
        }
    }

    private func accept(_ request: Request, context: some RequestContext, type: String?) async throws -> Response {
        // A key in the Authorization header is checked before the body is read: strangers cost no reading.
        let headerKey = Credentials.basicUser(request)
        var key = try headerKey.map(authorize)
        let limit = type == nil ? SegmentMessage.maxBatchBytes : SegmentMessage.maxEventBytes
        let object = try await readJSONObject(request, limit: limit)
        if key == nil {
            guard let bodyKey = object["writeKey"]?.stringValue else {
                throw HTTPErrorResponse.unauthorized("missing write key (HTTP Basic user name or writeKey)")
            }
            key = try authorize(bodyKey)
        }
        let source: String? = key.map { writeKeys[$0].source }

        let items = try messages(in: object, type: type)
        // Charged before anything is queued: a refused request leaves nothing on the queue.
        if let key, let retryAfter = limiter.take(keyIndex: key, cost: items.count) {
            throw HTTPErrorResponse.tooManyRequests(
                "rate limit of this write key exceeded; retry after \(retryAfter) s", retryAfterSeconds: retryAfter)
        }
        let receivedAt = Date()
        var accepted: [(event: AccountEvent, body: [UInt8])] = []
        var rejected: [Rejection] = []
        for (index, item) in items.enumerated() {
            do {
                let event = try SegmentMessage.translate(
                    item, type: type, receivedAt: receivedAt, streamClock: streamClock,
                    makeID: { UUID().uuidString.lowercased() })
                let body = event.encoded()
                guard body.count <= SegmentMessage.maxEventBytes else {
                    throw EventError(.tooLarge, "event larger than \(SegmentMessage.maxEventBytes) bytes")
                }
                accepted.append((event, body))
            } catch {
                rejected.append(Rejection(index: index, error: error, item: item))
            }
        }
        // A request whose every message is refused is the client's mistake: say so. In a batch with good
        // messages too, the good ones are queued and the refused ones dead-lettered with their reason, because
        // Segment libraries drop a whole batch on a 4xx.
        if accepted.isEmpty, let first = rejected.first {
            let prefix = type == nil ? "batch[\(first.index)]: " : ""
            throw first.error.code == .tooLarge
                ? HTTPErrorResponse.tooLarge(prefix + first.error.message)
                : HTTPErrorResponse.badRequest(first.error.code.rawValue, prefix + first.error.message)
        }

        // Mandatory: an event no queue takes fails the request (503) instead of being confirmed into nowhere.
        let messages = accepted.map { event, body in
            var message = AMQPMessage(exchange: CairnTopology.events, routingKey: event.routingKey, body: body, messageID: event.messageId)
            message.mandatory = true
            return message
        } + rejected.map { $0.deadLetter(source: source) }
        do {
            let started = ContinuousClock.now
            try await publishers.publish(messages)
            Timer(label: "cairn_ingest_publish_seconds").record(duration: ContinuousClock.now - started)
        } catch let error as AMQPError {
            context.logger.warning("publish failed; answering 503", metadata: ["error": "\(error)"])
            throw HTTPErrorResponse.unavailable("event queue unavailable, retry later")
        }
        Counter(label: "cairn_ingest_events_accepted_total", dimensions: [("source", source ?? "default")]).increment(by: accepted.count)
        for rejection in rejected {
            Counter(label: "cairn_ingest_events_dead_lettered_total", dimensions: [("code", rejection.error.code.rawValue)]).increment()
        }
        return try jsonResponse(
            IngestResponse(
                success: true, messageIds: accepted.map(\.event.messageId),
                rejected: rejected.isEmpty ? nil : rejected.map { .init(index: $0.index, code: $0.error.code.rawValue, message: $0.error.message) }))
    }

    /// Reads at most `limit` bytes of body (inflating gzip, as Segment libraries send it, to at most `limit`
    /// bytes too, so a small gzip bomb cannot grow large) and parses a JSON object from it.
    private func readJSONObject(_ request: Request, limit: Int) async throws -> [String: JSONValue] {
        var request = request
        var body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch {
            throw HTTPErrorResponse.tooLarge("request body larger than \(limit) bytes")
        }
        switch request.headers[.contentEncoding]?.lowercased() {
        case nil, "identity":
            break
        case "gzip":
            do {
                body = try body.decompress(with: .gzip(), maxSize: limit + 1)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw HTTPErrorResponse.tooLarge("request body larger than \(limit) bytes once inflated")
            } catch {
                throw HTTPErrorResponse.badRequest("invalid_gzip", "body is not valid gzip")
            }
            guard body.readableBytes <= limit else {
                throw HTTPErrorResponse.tooLarge("request body larger than \(limit) bytes once inflated")
            }
        case let other?:
            throw HTTPErrorResponse(
                .unsupportedMediaType, code: "unsupported_encoding", "Content-Encoding \(other.prefix(40)) is not supported; use gzip or none")
        }
        let root: JSONValue
        do {
            root = try JSONValue.parse(body.readableBytesView)
        } catch {
            throw HTTPErrorResponse.badRequest("malformed_json", "body is not valid JSON (\(error))")
        }
        guard case .object(let object) = root else {
            throw HTTPErrorResponse.badRequest("invalid_field", "body must be a JSON object, got \(root.kindName)")
        }
        return object
    }

    /// The messages of a request: the body itself, or the items of a batch.
    private func messages(in object: [String: JSONValue], type: String?) throws -> [[String: JSONValue]] {
        guard type == nil else { return [object] }
        guard case .array(let batch)? = object["batch"] else {
            throw HTTPErrorResponse.badRequest(
                object["batch"] == nil ? "missing_field" : "invalid_field", "batch: expected an array of messages")
        }
        guard !batch.isEmpty else { throw HTTPErrorResponse.badRequest("invalid_field", "batch: must not be empty") }
        // Segment libraries stamp `sentAt` once on the batch; it applies to every message without its own.
        let sentAt = object["sentAt"]
        return try batch.enumerated().map { index, item in
            guard case .object(var message) = item else {
                throw HTTPErrorResponse.badRequest("invalid_field", "batch[\(index)]: expected an object, got \(item.kindName)")
            }
            if message["sentAt"] == nil, let sentAt { message["sentAt"] = sentAt }
            return message
        }
    }

    /// The index of the write key `key` is; 401 when it is none. The key is hashed once and compared with every
    /// digest in constant time, without stopping at a match, so timing tells nothing about which key or byte.
    private func authorize(_ key: String) throws -> Int {
        let presented = SecretDigest(hashing: key)
        var found: Int?
        for (index, writeKey) in writeKeys.enumerated() {
            let matches = writeKey.digest.matches(presented)
            if matches && found == nil { found = index }
        }
        guard let found, !key.isEmpty else {
            throw HTTPErrorResponse.unauthorized(key.isEmpty ? "missing write key" : "unknown write key")
        }
        return found
    }
}

struct IngestResponse: Encodable {
    struct Refused: Encodable {
        let index: Int
        let code: String
        let message: String
    }

    let success: Bool
    let messageIds: [String]
    /// Messages of a batch that were refused and dead-lettered; absent when there were none.
    let rejected: [Refused]?
}

/// A message of a batch that was refused, kept for the dead-letter queue with its reason.
struct Rejection {
    let index: Int
    let error: EventError
    let item: [String: JSONValue]

    init(index: Int, error: any Error, item: [String: JSONValue]) {
        self.index = index
        self.error = error as? EventError ?? EventError(.invalidField, "\(error)")
        self.item = item
    }

    func deadLetter(source: String?) -> AMQPMessage {
        let body = (try? JSONEncoder.cairn.encode(JSONValue.object(item))).map(Array.init) ?? []
        var message = AMQPMessage(exchange: CairnTopology.dead, routingKey: "ingest", body: body, messageID: item["messageId"]?.stringValue)
        message.headers = ["x-cairn-error": "\(error.code.rawValue): \(error.message)", "x-cairn-queue": "ingest"]
        if let source { message.headers["x-cairn-source"] = source }
        return message
    }
}
