import CairnCore
import Foundation
import Testing

@Suite("JSON object writer")
struct JSONObjectWriterTests {
    @Test("Every field kind parses back to what was written; nil is left out or written as null, as asked")
    func fieldsParseBack() throws {
        let awkward = "quote \" back \\ slash / tab\tnew\nline\r \u{01} Zoë ✓ 🚀 <script>"
        let date = Date(timeIntervalSince1970: 1_767_225_600.1239)
        var nested = JSONObjectWriter()
        nested.field("n", Int64(-3))
        var object = JSONObjectWriter()
        object.field("text", awkward)
        object.field("count", Int64.max)
        object.field("ratio", 0.1)
        object.field("nan", Double.nan)
        object.field("flag", false)
        object.field("at", date: date)
        object.field("stored", json: #"[{"a": 1}, "x"]"#)
        object.field("nested", json: nested.text)
        object.field("gone", nil as String?)
        object.field("goneDate", date: nil)
        object.field("empty", nil as Double?, missing: .null)
        object.field("emptyDate", date: nil, missing: .null)

        let parsed = try JSONValue.parse(Array(object.text.utf8))
        #expect(parsed == .object([
            "text": .string(awkward), "count": .number(Double(Int64.max)), "ratio": .number(0.1), "nan": .null,
            "flag": .bool(false), "at": .string(Timestamp.format(date)), "stored": .array([.object(["a": 1]), "x"]),
            "nested": .object(["n": -3]), "empty": .null, "emptyDate": .null,
        ]))
        #expect(Timestamp.format(date) == "2026-01-01T00:00:00.123Z")
        #expect(JSONObjectWriter().text == "{}")
    }
}
