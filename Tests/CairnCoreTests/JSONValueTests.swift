import CairnCore
import Foundation
import Testing

@Suite("JSON parser and writer")
struct JSONValueTests {
    /// A random JSON tree, with awkward strings and numbers.
    static func random(depth: Int, using generator: inout some RandomNumberGenerator) -> JSONValue {
        let strings = ["", "plain", "Zoë ✓ 日本語 🚀", "quote \" back \\ slash /", "tab\tnew\nline\r", "\u{01}\u{1F}", "€"]
        let numbers: [Double] = [0, -0.5, 1, -1, 12, 0.1, 1e300, -2.5e-8, 9_007_199_254_740_991, 123_456.789]
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(numbers.randomElement(using: &generator)!)
        case 3, 4: return .string(strings.randomElement(using: &generator)!)
        case 5: return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in random(depth: depth + 1, using: &generator) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<4, using: &generator) {
                object[strings.randomElement(using: &generator)! + "k"] = random(depth: depth + 1, using: &generator)
            }
            return .object(object)
        }
    }

    @Test("What the writer writes, the parser and Foundation both read back as the same value")
    func roundTrips() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let value = Self.random(depth: 0, using: &generator)
            let bytes = value.serialized()
            #expect(try JSONValue.parse(bytes) == value)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) == value)
        }
    }

    @Test("The parser reads what Foundation writes")
    func readsFoundationOutput() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let value = Self.random(depth: 0, using: &generator)
            #expect(try JSONValue.parse(JSONEncoder().encode(value)) == value)
        }
    }

    @Test("Escapes, surrogate pairs and whitespace are read as JSON says")
    func readsEscapes() throws {
        let text = #" { "a" : "\u00e9\ud83d\ude80\n\/\"" , "b" : [ 1 , -2.5e3 , true , null ] } "#
        #expect(try JSONValue.parse(Array(text.utf8)) == ["a": "é🚀\n/\"", "b": [1, -2500, true, nil]])
    }

    @Test("Invalid JSON is refused", arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", ".5", "1e", "tru", "nul", "\"open", "\"\\x\"", "\"\\ud800\"",
        "\"\\udc00x\"", "{\"a\" 1}", "[1 2]", "1 2", "\"tab\tinside\"", "NaN", "Infinity", "1e999",
    ])
    func refusesInvalid(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test("Invalid UTF-8 inside a string is refused")
    func refusesInvalidUTF8() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test("Nesting deeper than the limit is refused instead of exhausting the stack")
    func limitsDepth() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONValue.parse(Array(fine.utf8)) }
    }
}
