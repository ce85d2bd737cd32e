public import Foundation

/// An account event as it travels on `cairn.events` (see CONTRACT.md).
public struct AccountEvent: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case track, identify, group
    }

    public var messageId: String
    public var type: Kind
    /// The event name; required for `track`.
    public var event: String?
    /// The account; nil when the sender did not know it and named a user instead. A worker resolves such an
    /// event through the user → account mapping that `identify` and `group` calls teach (see docs/publishing.md).
    public var accountId: String?
    public var userId: String?
    public var timestamp: Date
    public var receivedAt: Date?
    public var properties: [String: JSONValue]
    public var traits: [String: JSONValue]
    public var context: [String: JSONValue]

    public init(
        messageId: String, type: Kind, event: String? = nil, accountId: String?, userId: String? = nil,
        timestamp: Date, receivedAt: Date? = nil, properties: [String: JSONValue] = [:],
        traits: [String: JSONValue] = [:], context: [String: JSONValue] = [:]
    ) {
        self.messageId = messageId
        self.type = type
        self.event = event
        self.accountId = accountId
        self.userId = userId
        self.timestamp = timestamp
        self.receivedAt = receivedAt
        self.properties = properties
        self.traits = traits
        self.context = context
    }

    /// Longest accepted id (message, account, user); longer ones are refused rather than truncated.
    public static let maxIdentifierLength = 256

    /// Largest event accepted on `cairn.events`: twice ingest's 32 KB per Segment event, so an event ingest
    /// accepted (and then stamped with `receivedAt` and its account) always fits, while a direct publisher's
    /// oversized message is dead-lettered instead of bloating the event log.
    public static let maxEncodedBytes = 64 * 1024

    /// Parses and validates one event from its JSON bytes, naming the field at fault when it is invalid.
    public static func parse(_ bytes: some Collection<UInt8>) throws(EventError) -> AccountEvent {
        guard bytes.count <= maxEncodedBytes else {
            throw EventError(.tooLarge, "event is \(bytes.count) bytes; the limit is \(maxEncodedBytes)")
        }
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw EventError(.malformedJSON, "body is not valid JSON (\(error))")
        }
        guard case .object(let object) = root else {
            throw EventError(.invalidField, "expected a JSON object, got \(root.kindName)")
        }
        return try AccountEvent(validating: object)
    }

    /// Validates a decoded JSON object against the contract.
    public init(validating object: [String: JSONValue]) throws(EventError) {
        let messageId = try Self.identifier(object, "messageId", required: true)!
        let typeName = try Self.string(object, "type", required: true)!
        guard let type = Kind(rawValue: typeName) else {
            throw EventError(.invalidField, field: "type", "type must be one of track, identify, group; got \(typeName)")
        }
        let event = try Self.string(object, "event", required: type == .track)
        if let event, event.isEmpty {
            throw EventError(.invalidField, field: "event", "event must not be empty")
        }
        let accountId = try Self.identifier(object, "accountId", required: false)
        let userId = try Self.identifier(object, "userId", required: false)
        guard accountId != nil || userId != nil else {
            throw EventError(.missingField, field: "accountId", "accountId is required (or a userId whose account Cairn learns)")
        }
        let timestamp = try Self.date(object, "timestamp", required: true)!
        let receivedAt = try Self.date(object, "receivedAt", required: false)
        // PostgreSQL cannot store U+0000 in text or jsonb: such an event would pass here (and be accepted by
        // ingest with a 200) only to be refused by the database when a worker applies it.
        for field in ["messageId", "event", "accountId", "userId", "properties", "traits", "context"] {
            if let value = object[field], value.containsNUL {
                throw EventError(.invalidField, field: field, "\(field) contains a NUL character (\\u0000), which cannot be stored")
            }
        }
        self.init(
            messageId: messageId, type: type, event: event, accountId: accountId, userId: userId,
            timestamp: timestamp, receivedAt: receivedAt,
            properties: try Self.object(object, "properties"), traits: try Self.object(object, "traits"),
            context: try Self.object(object, "context"))
    }

    private static func string(_ object: [String: JSONValue], _ field: String, required: Bool) throws(EventError) -> String? {
        switch object[field] {
        case .none, .some(.null):
            if required { throw EventError(.missingField, field: field, "\(field) is required") }
            return nil
        case .some(.string(let value)):
            return value
        case .some(let other):
            throw EventError(.invalidField, field: field, "\(field) must be a string, got \(other.kindName)")
        }
    }

    private static func identifier(_ object: [String: JSONValue], _ field: String, required: Bool) throws(EventError) -> String? {
        guard let value = try string(object, field, required: required) else { return nil }
        if value.isEmpty {
            if required { throw EventError(.missingField, field: field, "\(field) must not be empty") }
            return nil
        }
        guard value.utf8.count <= maxIdentifierLength else {
            throw EventError(.invalidField, field: field, "\(field) is longer than \(maxIdentifierLength) bytes")
        }
        return value
    }

    private static func date(_ object: [String: JSONValue], _ field: String, required: Bool) throws(EventError) -> Date? {
        guard let text = try string(object, field, required: required) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw EventError(.invalidField, field: field, "\(field) must be an ISO-8601 date, got \(text.prefix(64))")
        }
        return date
    }

    private static func object(_ object: [String: JSONValue], _ field: String) throws(EventError) -> [String: JSONValue] {
        switch object[field] {
        case .none, .some(.null): return [:]
        case .some(.object(let value)): return value
        case .some(let other):
            throw EventError(.invalidField, field: field, "\(field) must be an object, got \(other.kindName)")
        }
    }

    /// The canonical JSON bytes of the event, as published on `cairn.events` (keys sorted, timestamps with
    /// milliseconds).
    public func encoded() -> [UInt8] {
        var object: [String: JSONValue] = [
            "messageId": .string(messageId), "type": .string(type.rawValue),
            "timestamp": .string(Timestamp.format(timestamp)), "properties": .object(properties),
            "traits": .object(traits), "context": .object(context),
        ]
        if let event { object["event"] = .string(event) }
        if let accountId { object["accountId"] = .string(accountId) }
        if let userId { object["userId"] = .string(userId) }
        if let receivedAt { object["receivedAt"] = .string(Timestamp.format(receivedAt)) }
        return JSONValue.object(object).serialized()
    }

    /// The routing key on `cairn.events`: the account, or `unresolved` while only the user is known.
    public var routingKey: String { accountId ?? "unresolved" }

    /// The user → account link this event teaches: an `identify` or `group` call that names both.
    public var accountLink: (userId: String, accountId: String)? {
        guard type != .track, let userId, let accountId else { return nil }
        return (userId, accountId)
    }
}

extension JSONValue {
    /// Whether a string or an object key anywhere in the value contains U+0000.
    var containsNUL: Bool {
        switch self {
        case .null, .bool, .number: false
        case .string(let string): string.utf8.contains(0)
        case .array(let array): array.contains { $0.containsNUL }
        case .object(let object): object.contains { $0.key.utf8.contains(0) || $0.value.containsNUL }
        }
    }
}
