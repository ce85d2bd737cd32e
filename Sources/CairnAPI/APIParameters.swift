import CairnCore
import CairnHTTP
import CairnStore
import Foundation
import Hummingbird

/// Reading and checking query parameters: every bad value is a 400 with the JSON error shape.
struct APIParameters {
    let request: Request

    init(_ request: Request) {
        self.request = request
    }

    /// A text parameter: at most 200 characters, no control characters (PostgreSQL refuses NUL).
    func text(_ name: String) throws -> String? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        return try Self.checked(value, name: name)
    }

    static func checked(_ value: String, name: String) throws -> String {
        guard !value.isEmpty, value.count <= 200, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw HTTPErrorResponse.badRequest("invalid_parameter", "\(name) must be 1 to 200 characters without control characters")
        }
        return value
    }

    /// One of `allowed` values.
    func choice<Value>(_ name: String, _ parse: (String) -> Value?, allowed: [String]) throws -> Value? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        guard let parsed = parse(value) else {
            throw HTTPErrorResponse.badRequest(
                "invalid_parameter", "\(name) must be one of \(allowed.joined(separator: ", "))")
        }
        return parsed
    }

    func bool(_ name: String) throws -> Bool? {
        try choice(name, { ["true": true, "false": false][$0] }, allowed: ["true", "false"])
    }

    /// An integer in `range`, or `fallback` when absent.
    func integer(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPErrorResponse.badRequest(
                "invalid_parameter", "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A date (`YYYY-MM-DD` or a full ISO-8601 time).
    func date(_ name: String) throws -> Date? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        if let date = Timestamp.parse(text) { return date }
        if text.count == 10, let date = Timestamp.parse(text + "T00:00:00Z") { return date }
        throw HTTPErrorResponse.badRequest("invalid_parameter", "\(name) must be a date (YYYY-MM-DD) or an ISO-8601 time")
    }

    func limit(maximum: Int, default fallback: Int = 50) throws -> Int {
        try integer("limit", in: 1...maximum, default: fallback)
    }

    /// The decoded `cursor` parameter of a list of `kind`.
    func cursor<Position: Codable>(_ kind: String, as type: Position.Type) throws -> Position? {
        guard let text = request.uri.queryParameters["cursor"].map(String.init) else { return nil }
        return try Cursor.decode(text, kind: kind, as: type)
    }
}

/// Opaque page cursors: base64url of a small JSON document naming the list it belongs to and the position after
/// which the next page starts. Clients must not build them; a cursor of another list, sort or order is refused.
enum Cursor {
    private struct Envelope<Position: Codable>: Codable {
        let v: Int
        let k: String
        let p: Position
    }

    static func encode<Position: Codable>(_ position: Position, kind: String) -> String {
        let data = (try? JSONEncoder().encode(Envelope(v: 1, k: kind, p: position))) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode<Position: Codable>(_ text: String, kind: String, as type: Position.Type) throws -> Position {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard text.count <= 2_000, let data = Data(base64Encoded: base64),
            let envelope = try? JSONDecoder().decode(Envelope<Position>.self, from: data), envelope.v == 1
        else {
            throw HTTPErrorResponse.badRequest("invalid_cursor", "cursor is not a cursor this API made")
        }
        guard envelope.k == kind else {
            throw HTTPErrorResponse.badRequest("invalid_cursor", "cursor belongs to another list, sort or order")
        }
        return envelope.p
    }
}

/// Checks cursor positions before they reach SQL: times as PostgreSQL prints them, ids of sane length.
enum PositionCheck {
    static func time(_ text: String) throws {
        let pattern = #"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$"#
        guard text.range(of: pattern, options: .regularExpression) != nil else {
            throw HTTPErrorResponse.badRequest("invalid_cursor", "cursor is not a cursor this API made")
        }
    }

    static func id(_ text: String) throws {
        guard text.utf8.count <= 1_000, !text.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw HTTPErrorResponse.badRequest("invalid_cursor", "cursor is not a cursor this API made")
        }
    }

    static func check(_ position: TimePosition) throws -> TimePosition {
        try time(position.time)
        try id(position.id)
        return position
    }
}
