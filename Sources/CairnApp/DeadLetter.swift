public import CairnAMQP
import Foundation

/// A message in a dead-letter queue, with what is known of why it died and where it came from.
///
/// Two kinds of dead letters reach `cairn.dead.events`: those a role refused and published itself (worker,
/// escalator, ingest: reason in `x-cairn-error`, origin in `x-cairn-queue`, and from this version on the
/// original exchange and routing key in `x-cairn-exchange` / `x-cairn-routing-key`), and those the broker
/// dead-lettered after `x-delivery-limit` deliveries (reason and origin in `x-first-death-reason` /
/// `x-first-death-queue` / `x-first-death-exchange`, routing key unchanged).
public struct DeadLetter: Sendable {
    /// Position in the queue when it was read, from 1.
    public let position: Int
    public let delivery: AMQPDelivery

    public init(position: Int, delivery: AMQPDelivery) {
        self.position = position
        self.delivery = delivery
    }

    public var messageID: String? { delivery.messageID }
    public var headers: [String: String] { delivery.headers }
    public var size: Int { delivery.body.count }

    /// Why the message is here, in words.
    public var reason: String {
        if let error = headers["x-cairn-error"] { return error }
        if let reason = headers["x-first-death-reason"] {
            let queue = headers["x-first-death-queue"].map { " in \($0)" } ?? ""
            let note = reason == "delivery_limit" ? " (delivered \(CairnTopology.deliveryLimit) times without being acknowledged)" : ""
            return "broker: \(reason)\(queue)\(note)"
        }
        return "unknown (no x-cairn-error or x-death headers)"
    }

    /// The queue that refused the message: `cairn.events.work.<n>`, `cairn.signals.escalator`, or `ingest`.
    public var origin: String? { headers["x-cairn-queue"] ?? headers["x-first-death-queue"] }

    /// Where a replay sends the message: the exchange that feeds its origin queue, with its original routing key.
    /// Nil for messages that cannot go back through the broker (refused by ingest: they are Segment messages,
    /// to be sent to ingest again) or whose origin is unknown.
    public var replayTarget: (exchange: String, routingKey: String)? {
        guard let origin, let exchange = headers["x-cairn-exchange"] ?? headers["x-first-death-exchange"]
            ?? CairnTopology.exchange(feeding: origin), exchange != CairnTopology.dead, !exchange.isEmpty
        else { return nil }
        if let key = headers["x-cairn-routing-key"] { return (exchange, key) }
        // Broker dead-lettering keeps the routing key.
        if headers["x-first-death-queue"] != nil { return (exchange, delivery.routingKey) }
        // Dead letters from before x-cairn-routing-key: an event's key is its account; any key reaches the
        // queues bound with "#".
        if CairnTopology.isEventQueue(origin) || origin == CairnTopology.legacyEventsWork,
            let account = bodyObject?["accountId"] as? String { return (exchange, account) }
        return (exchange, delivery.routingKey)
    }

    /// The headers a replayed copy carries: the message's own, without the dead-letter bookkeeping.
    public var replayHeaders: [String: String] {
        headers.filter { key, _ in
            !(key.hasPrefix("x-cairn-") || key.hasPrefix("x-death") || key.hasPrefix("x-first-death")
                || key.hasPrefix("x-last-death") || key == "x-delivery-count")
        }
    }

    /// The first bytes of the body as one line of text.
    public func preview(_ length: Int = 60) -> String {
        let text = String(decoding: delivery.body.prefix(length), as: UTF8.self)
        let line = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return delivery.body.count > length ? line + "…" : line
    }

    /// The body pretty-printed when it is JSON, as text otherwise.
    public var prettyBody: String {
        let data = Data(delivery.body)
        if let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed])
        {
            return String(decoding: pretty, as: UTF8.self)
        }
        let text = String(decoding: data, as: UTF8.self)
        return String(data: data, encoding: .utf8) == nil ? "(not valid UTF-8; shown with replacement characters)\n" + text : text
    }

    private var bodyObject: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(delivery.body))) as? [String: Any]
    }

    /// The fields `list --json` and `show --json` print.
    public var summary: Summary {
        Summary(
            position: position, messageId: messageID, routingKey: delivery.routingKey, reason: reason, origin: origin,
            size: size, preview: preview(), headers: headers, redelivered: delivery.redelivered)
    }

    public struct Summary: Sendable, Encodable {
        public let position: Int
        public let messageId: String?
        public let routingKey: String
        public let reason: String
        public let origin: String?
        public let size: Int
        public let preview: String
        public let headers: [String: String]
        public let redelivered: Bool
    }
}
