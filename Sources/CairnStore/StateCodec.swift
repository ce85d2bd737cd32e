import CairnCore
import Foundation

/// The JSON columns of account state (milestones, health components), read and written with `JSONValue`
/// rather than Foundation's Codable, which showed up in the worker's profile.
enum StateCodec {
    struct Corrupt: Error, CustomStringConvertible {
        let description: String
    }

    static func encode(milestones: [String: Date]) -> String {
        String(decoding: JSONValue.object(milestones.mapValues { .string(Timestamp.format($0)) }).serialized(), as: UTF8.self)
    }

    static func decodeMilestones(_ text: String?) throws -> [String: Date] {
        guard let text, case .object(let object) = try JSONValue.parse(Array(text.utf8)) else { return [:] }
        return try object.mapValues { value in
            guard let date = value.stringValue.flatMap(Timestamp.parse) else { throw Corrupt(description: "bad milestone time \(value)") }
            return date
        }
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
}
