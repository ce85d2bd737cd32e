public import CairnAMQP
import CairnCore
import CairnHTTP
import Foundation
public import Hummingbird
public import Logging
import NIOCore

/// `cairn ingest`: the Segment-compatible HTTP API. Answers 200 only after the broker confirmed every event of
/// the request; 503 with `Retry-After` while the broker is away.
public func buildIngestApplication(
    configuration: IngestConfiguration, connection: AMQPConnection, logger: Logger
) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: JSONErrorMiddleware())
    let handler = IngestHandler(writeKeys: configuration.writeKeys, connection: connection)
    router.get("/healthz") { _, _ in try jsonResponse(["status": "ok"]) }
    router.get("/readyz") { _, _ in
        guard connection.isConnected else { throw HTTPErrorResponse.unavailable("broker not connected") }
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
        logger: logger)
}

struct IngestHandler: Sendable {
    let writeKeys: [String: String]
    let connection: AMQPConnection

    /// - Parameter type: the call type, or nil for `/v1/batch`.
    func handle(_ request: Request, context: some RequestContext, type: String?) async throws -> Response {
        var request = request
        let limit = type == nil ? SegmentMessage.maxBatchBytes : SegmentMessage.maxEventBytes
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch {
            throw HTTPErrorResponse.tooLarge("request body larger than \(limit) bytes")
        }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        } catch {
            throw HTTPErrorResponse.badRequest("malformed_json", "body is not valid JSON")
        }
        guard case .object(let object) = root else {
            throw HTTPErrorResponse.badRequest("invalid_field", "body must be a JSON object")
        }
        try authorize(request, body: object)

        let receivedAt = Date()
        var items: [[String: JSONValue]]
        if type == nil {
            guard case .array(let batch)? = object["batch"] else {
                throw HTTPErrorResponse.badRequest("invalid_field", "batch: expected an array of messages")
            }
            items = []
            for (index, item) in batch.enumerated() {
                guard case .object(let message) = item else {
                    throw HTTPErrorResponse.badRequest("invalid_field", "batch[\(index)]: expected an object")
                }
                items.append(message)
            }
        } else {
            items = [object]
        }

        var events: [AccountEvent] = []
        for (index, item) in items.enumerated() {
            let prefix = type == nil ? "batch[\(index)]." : ""
            do {
                let event = try SegmentMessage.translate(
                    item, type: type, receivedAt: receivedAt, makeID: { UUID().uuidString.lowercased() })
                let bytes = event.encoded()
                guard bytes.count <= SegmentMessage.maxEventBytes else {
                    throw EventError(.tooLarge, "\(prefix)event larger than \(SegmentMessage.maxEventBytes) bytes")
                }
                events.append(event)
            } catch let error as EventError where error.code == .tooLarge {
                throw HTTPErrorResponse.tooLarge(error.message)
            } catch let error as EventError {
                throw HTTPErrorResponse.badRequest(error.code.rawValue, "\(prefix)\(error.message)")
            }
        }

        do {
            try await connection.publish(
                events.map { event in
                    AMQPMessage(exchange: CairnTopology.events, routingKey: event.accountId, body: event.encoded(), messageID: event.messageId)
                })
        } catch let error as AMQPError where error.isTransient {
            context.logger.warning("publish failed; answering 503", metadata: ["error": "\(error)"])
            throw HTTPErrorResponse.unavailable("event queue unavailable, retry later")
        }
        return try jsonResponse(IngestResponse(success: true, messageIds: events.map(\.messageId)))
    }

    /// The write key comes as the HTTP Basic user name, or as `writeKey` in the body.
    private func authorize(_ request: Request, body: [String: JSONValue]) throws {
        guard let key = Credentials.basicUser(request) ?? body["writeKey"]?.stringValue, !key.isEmpty else {
            throw HTTPErrorResponse.unauthorized("missing write key (HTTP Basic user name or writeKey)")
        }
        guard writeKeys.keys.contains(where: { Credentials.constantTimeEquals($0, key) }) else {
            throw HTTPErrorResponse.unauthorized("unknown write key")
        }
    }
}

struct IngestResponse: Encodable {
    let success: Bool
    let messageIds: [String]
}
