import CairnCore
import Foundation

/// The JSON columns of account state (milestones, health components), read and written with `JSONValue`
/// rather than Foundation's Codable, which showed up in the worker's profile.
enum StateCodec {
    struct Corrupt: Error, CustomStringConvertible {
        let description: String
    }

    static func encode(components: [HealthComponent]) -> String {
        let array = JSONValue.array(
            components.map {
                .object([
                    "name": .string($0.name), "score": .number(Double($0.score)), "weight": .number($0.weight),
                    "reason": .string($0.reason),
                ])
            })
        return String(decoding: array.serialized(), as: UTF8.self)
    }

    static func decodeComponents(_ text: String?) throws -> [HealthComponent] {
        guard let text, case .array(let array) = try JSONValue.parse(Array(text.utf8)) else { return [] }
        return try array.map { value in
            guard let name = value["name"]?.stringValue, let score = value["score"]?.doubleValue,
                let weight = value["weight"]?.doubleValue, let reason = value["reason"]?.stringValue
            else { throw Corrupt(description: "bad health component \(value)") }
            return HealthComponent(name: name, score: Int(score), weight: weight, reason: reason)
        }
    }

    /// The facts' own JSON writer and reader (`AccountFacts+JSON`), in the `Codable` shape the database's
    /// read-model trigger reads.
    static func encode(facts: AccountFacts) -> String {
        facts.encodedJSON()
    }

    static func decodeFacts(_ text: String) throws -> AccountFacts {
        try AccountFacts(encodedJSON: text)
    }

    /// One encoder for the worker's hot path (`JSONEncoder.cairn` makes a new one each time).
    static let stateEncoder = JSONEncoder.cairn

    /// Milestone statuses, stage history and tracks, with ISO-8601 times, as the API serves them.
    static func encode(_ value: some Encodable) -> String {
        String(decoding: try! stateEncoder.encode(value), as: UTF8.self)
    }
}
