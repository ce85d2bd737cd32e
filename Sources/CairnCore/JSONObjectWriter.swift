public import Foundation

/// Writes one JSON object as text, field after field, for JSON assembled from database columns without building a
/// `JSONValue` or going through `Codable`. Strings are escaped as `JSONValue.serialized()` escapes them, dates are
/// written as `Timestamp.format` writes them, and `json:` fields are spliced in as they are (the caller vouches
/// that they are valid JSON, such as PostgreSQL's text of a `jsonb` column).
public struct JSONObjectWriter: Sendable {
    /// What a field whose value is nil becomes.
    public enum Missing: Sendable {
        /// The key is left out.
        case omitted
        /// The key is written with `null`.
        case null
    }

    private var bytes: [UInt8]
    private var isEmpty = true

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// The object's text, closed.
    public var text: String {
        var closed = bytes
        closed.append(UInt8(ascii: "}"))
        return String(decoding: closed, as: UTF8.self)
    }

    /// Writes the key; false (and nothing written) when the value is nil and `missing` leaves it out.
    private mutating func key(_ name: String, present: Bool, missing: Missing) -> Bool {
        guard present || missing == .null else { return false }
        if !isEmpty { bytes.append(UInt8(ascii: ",")) }
        isEmpty = false
        JSONWriter.writeString(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        if !present { bytes.append(contentsOf: "null".utf8) }
        return present
    }

    public mutating func field(_ name: String, _ value: String?, missing: Missing = .omitted) {
        guard key(name, present: value != nil, missing: missing), let value else { return }
        JSONWriter.writeString(value, into: &bytes)
    }

    public mutating func field(_ name: String, _ value: Int64?, missing: Missing = .omitted) {
        guard key(name, present: value != nil, missing: missing), let value else { return }
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A non-finite number is written as `null`, as JSON has no other way to say it.
    public mutating func field(_ name: String, _ value: Double?, missing: Missing = .omitted) {
        guard key(name, present: value != nil, missing: missing), let value else { return }
        JSONWriter.writeNumber(value, into: &bytes)
    }

    public mutating func field(_ name: String, _ value: Bool?, missing: Missing = .omitted) {
        guard key(name, present: value != nil, missing: missing), let value else { return }
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func field(_ name: String, date value: Date?, missing: Missing = .omitted) {
        guard key(name, present: value != nil, missing: missing), let value else { return }
        JSONWriter.writeString(Timestamp.format(value), into: &bytes)
    }

    /// `value` is JSON text and is written as it is.
    public mutating func field(_ name: String, json value: String?, missing: Missing = .omitted) {
        guard key(name, present: value != nil, missing: missing), let value else { return }
        bytes.append(contentsOf: value.utf8)
    }
}
