import CairnCore
import CairnHTTP
import CairnStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

extension RouterGroup {
    /// `GET /stream`: server-sent events of stage, health and task changes, polled from PostgreSQL.
    ///
    /// Each event's `id:` is the change time in microseconds; a client that reconnects with `Last-Event-ID` (or
    /// `?lastEventId=`) gets what changed since, and may see a change again: events carry the new state, so a repeat
    /// is harmless. Each poll looks back a little before the newest change seen, because a transaction that started
    /// earlier can commit later; changes already sent on this connection are not sent again.
    func addStreamRoute(store: Store, configuration: APIConfiguration) {
        get("/stream") { request, context in
            let header = request.headers[HTTPFields.Element.Name("Last-Event-ID")!] ?? request.uri.queryParameters["lastEventId"].map(String.init)
            var resume: Int64?
            if let header {
                guard let value = Int64(header.trimmingCharacters(in: .whitespaces)), value >= 0, value < 253_402_300_800_000_000
                else {
                    throw HTTPErrorResponse.badRequest("invalid_parameter", "Last-Event-ID must be an id this stream sent")
                }
                resume = value
            }
            var start = resume ?? 0
            if resume == nil { start = try await store.clockMicros(logger: context.logger) }
            let logger = context.logger
            let first = start
            let resumed = resume != nil
            let body = ResponseBody { writer in
                var stream = ChangeStream(high: first, resumed: resumed)
                try await writer.write(ByteBuffer(string: "retry: 2000\n: connected\n\n"))
                let deadline = ContinuousClock.now + configuration.streamLifetime
                var quietSince = ContinuousClock.now
                while ContinuousClock.now < deadline, !Task.isCancelled, !Task.isShuttingDownGracefully {
                    let text = try await stream.poll(store: store, logger: logger)
                    if !text.isEmpty {
                        try await writer.write(ByteBuffer(string: text))
                        quietSince = ContinuousClock.now
                    } else if ContinuousClock.now - quietSince >= .seconds(10) {
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                        quietSince = ContinuousClock.now
                    }
                    try? await Task.sleep(for: configuration.streamPollInterval)
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPFields.Element.Name("X-Accel-Buffering")!: "no"],
                body: body)
        }
    }
}

/// What one stream connection has sent: the newest change time, and the changes inside the look-back window.
struct ChangeStream {
    /// How far before the newest change each poll looks again (transactions commit out of order).
    static let lookback: Int64 = 3_000_000
    static let batch = 500

    var high: Int64
    var resumed: Bool
    var sent: [String: Int64] = [:]

    init(high: Int64, resumed: Bool) {
        self.high = high
        self.resumed = resumed
    }

    /// Reads the changes since the last poll and returns them as SSE text (empty when nothing changed).
    mutating func poll(store: Store, logger: Logger) async throws -> String {
        var text = ""
        var from = max(0, high - Self.lookback)
        for _ in 0..<10 {
            let changes = try await store.changes(sinceMicros: from, limit: Self.batch, logger: logger)
            for change in changes {
                let key = "\(change.kind.rawValue)|\(change.id)|\(change.changedAtMicros)"
                guard sent[key] == nil else { continue }
                sent[key] = change.changedAtMicros
                high = max(high, change.changedAtMicros)
                text += Self.format(change)
            }
            guard changes.count == Self.batch, let last = changes.last?.changedAtMicros else { break }
            from = last > from ? last : from + 1
        }
        let horizon = high - Self.lookback
        sent = sent.filter { $0.value >= horizon }
        return text
    }

    static func format(_ change: StateChange) -> String {
        var data: [String: Any] = ["accountId": change.accountId, "at": Timestamp.format(change.changedAt)]
        switch change.kind {
        case .stage:
            data["stage"] = change.value
        case .health:
            data["band"] = change.value
            if let score = change.detail.flatMap({ Int($0) }) { data["score"] = score }
        case .task:
            data["taskId"] = change.id
            data["status"] = change.value
            if let assignee = change.detail { data["assignee"] = assignee }
        }
        let json = (try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "id: \(change.changedAtMicros)\nevent: \(change.kind.rawValue)\ndata: \(json)\n\n"
    }
}
