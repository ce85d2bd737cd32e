public import Foundation

/// Translates Segment HTTP tracking API messages (track, identify, group, page, screen) into account events.
public enum SegmentMessage {
    /// Largest accepted event, in bytes of JSON (the Segment API's own limit).
    public static let maxEventBytes = 32 * 1024
    /// Largest accepted batch request, in bytes of JSON.
    public static let maxBatchBytes = 500 * 1024

    /// Translates one message.
    /// - Parameters:
    ///   - type: the call type from the URL (`/v1/track`), or nil inside a batch, where each item has `type`.
    ///   - receivedAt: when ingest received the request; `timestamp` defaults to it.
    ///   - streamClock: on the stream clock (`CAIRN_CLOCK=stream`, simulations and replays) ingest's wall clock says
    ///     nothing about the stream's time: the event arrives at the sender's `sentAt` (none without it), and its
    ///     `timestamp` is taken as sent, not corrected for skew. A sender's own `receivedAt` is never kept.
    ///   - makeID: makes a `messageId` for messages without one.
    public static func translate(
        _ object: [String: JSONValue], type: String?, receivedAt: Date, streamClock: Bool = false, makeID: () -> String
    ) throws(EventError) -> AccountEvent {
        let typeName: String
        if let type { typeName = type } else { typeName = try requiredString(object, "type") }
        let properties = try optionalObject(object, "properties")
        let traits = try optionalObject(object, "traits")
        let context = try optionalObject(object, "context")
        // An empty id is no id (as Segment treats it).
        let anonymousId = try optionalString(object, "anonymousId").flatMap { $0.isEmpty ? nil : $0 }
        let userId = try optionalString(object, "userId").flatMap { $0.isEmpty ? nil : $0 } ?? anonymousId

        let kind: AccountEvent.Kind
        var event: String?
        switch typeName {
        case "track":
            kind = .track
            event = try requiredString(object, "event")
        case "identify":
            kind = .identify
        case "group":
            kind = .group
        case "page", "screen":
            kind = .track
            let name = try optionalString(object, "name") ?? properties["name"]?.stringValue
            event = ["Viewed", name, typeName == "page" ? "Page" : "Screen"].compactMap { $0 }.joined(separator: " ")
        default:
            throw EventError(.invalidField, field: "type", "type must be track, identify, group, page or screen; got \(typeName.prefix(40))")
        }

        // A group call names its account in groupId; other calls carry it in context or properties.
        let groupId = try optionalString(object, "groupId")
        let candidates = [
            kind == .group ? groupId : nil, context["groupId"]?.stringValue, properties["accountId"]?.stringValue,
            properties["groupId"]?.stringValue, traits["accountId"]?.stringValue, groupId,
        ]
        // Without an account, the user's learned account is used (a worker resolves it; see docs/publishing.md).
        let accountId = candidates.compactMap { $0 }.first { !$0.isEmpty }
        if kind == .group, accountId == nil {
            throw EventError(.missingField, field: "groupId", "group needs groupId")
        }
        guard accountId != nil || userId != nil else {
            throw EventError(
                .missingField, field: "groupId",
                "cannot tell which account this is: set context.groupId or properties.accountId, or a userId")
        }
        guard userId != nil || kind == .track else {
            throw EventError(.missingField, field: "userId", "\(typeName) needs userId or anonymousId")
        }

        var object = object
        let messageId = try optionalString(object, "messageId")
        object["messageId"] = .string(messageId.flatMap { $0.isEmpty ? nil : $0 } ?? makeID())
        object["type"] = .string(kind.rawValue)
        if let event { object["event"] = .string(event) }
        object["accountId"] = accountId.map(JSONValue.string) ?? .null
        if let userId { object["userId"] = .string(userId) }
        if streamClock {
            let sentAt = try optionalDate(object, "sentAt")
            let given = try optionalDate(object, "timestamp")
            let original = try optionalDate(object, "originalTimestamp")
            let timestamp = given ?? original ?? sentAt ?? receivedAt
            object["timestamp"] = .string(Timestamp.format(timestamp))
            object["receivedAt"] = sentAt.map { .string(Timestamp.format($0)) }
        } else {
            object["timestamp"] = .string(Timestamp.format(try correctedTimestamp(object, receivedAt: receivedAt)))
            object["receivedAt"] = .string(Timestamp.format(receivedAt))
        }
        return try AccountEvent(validating: object)
    }

    /// The event time, corrected for the sender's clock skew as Segment does: when `sentAt` is given,
    /// `timestamp = receivedAt - (sentAt - timestamp)`.
    static func correctedTimestamp(_ object: [String: JSONValue], receivedAt: Date) throws(EventError) -> Date {
        let original = try optionalDate(object, "originalTimestamp")
        guard let timestamp = try optionalDate(object, "timestamp") ?? original else {
            return receivedAt
        }
        guard let sentAt = try optionalDate(object, "sentAt") else { return timestamp }
        return receivedAt.addingTimeInterval(-sentAt.timeIntervalSince(timestamp))
    }

    private static func requiredString(_ object: [String: JSONValue], _ field: String) throws(EventError) -> String {
        guard let value = try optionalString(object, field), !value.isEmpty else {
            throw EventError(.missingField, field: field, "\(field) is required")
        }
        return value
    }

    private static func optionalString(_ object: [String: JSONValue], _ field: String) throws(EventError) -> String? {
        switch object[field] {
        case .none, .some(.null): return nil
        case .some(.string(let value)): return value
        case .some(.number(let number)) where field.hasSuffix("Id"):
            // Segment libraries send numeric ids as numbers; ids are strings in Cairn.
            return number.rounded() == number ? String(Int64(number)) : String(number)
        case .some(let other):
            throw EventError(.invalidField, field: field, "\(field) must be a string, got \(other.kindName)")
        }
    }

    private static func optionalObject(_ object: [String: JSONValue], _ field: String) throws(EventError) -> [String: JSONValue] {
        switch object[field] {
        case .none, .some(.null): return [:]
        case .some(.object(let value)): return value
        case .some(let other):
            throw EventError(.invalidField, field: field, "\(field) must be an object, got \(other.kindName)")
        }
    }

    private static func optionalDate(_ object: [String: JSONValue], _ field: String) throws(EventError) -> Date? {
        guard let text = try optionalString(object, field) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw EventError(.invalidField, field: field, "\(field) must be an ISO-8601 date, got \(text.prefix(40))")
        }
        return date
    }
}

extension AccountEvent {
    /// This event as a call of the Segment HTTP tracking API, as `/v1/batch` takes it: the account in
    /// `context.groupId` (and `groupId` for a group call). Ingest translates it back into this event, with
    /// `receivedAt` stamped and `groupId` added to the context.
    public var segmentCall: JSONValue {
        var context = self.context
        if let accountId { context["groupId"] = .string(accountId) }
        var call: [String: JSONValue] = [
            "type": .string(type.rawValue), "messageId": .string(messageId),
            "timestamp": .string(Timestamp.format(timestamp)), "properties": .object(properties),
            "traits": .object(traits), "context": .object(context),
        ]
        if let event { call["event"] = .string(event) }
        if let userId { call["userId"] = .string(userId) }
        if type == .group, let accountId { call["groupId"] = .string(accountId) }
        return .object(call)
    }
}
