import CairnCore
import Foundation
import Testing

@Suite("Event validation")
struct AccountEventTests {
    let valid = #"{"messageId":"m1","type":"track","event":"Report Exported","accountId":"acme","userId":"u1","timestamp":"2026-11-23T08:00:00Z","properties":{"n":1}}"#

    @Test("A valid event parses with every field")
    func validEventParses() throws {
        let event = try AccountEvent.parse(Array(valid.utf8))
        #expect(event.messageId == "m1")
        #expect(event.type == .track)
        #expect(event.event == "Report Exported")
        #expect(event.accountId == "acme")
        #expect(event.userId == "u1")
        #expect(event.timestamp == Timestamp.parse("2026-11-23T08:00:00Z"))
        #expect(event.properties["n"] == .number(1))
    }

    @Test("Encoding and parsing again gives the same event")
    func roundTrips() throws {
        let event = try AccountEvent.parse(Array(valid.utf8))
        #expect(try AccountEvent.parse(event.encoded()) == event)
    }

    @Test("An event over 64 KB is refused as too large; the largest event ingest accepts still fits")
    func sizeLimit() throws {
        // A Segment event at ingest's 32 KB limit, translated: it gains receivedAt and its account, and stays far below.
        let padding = String(repeating: "x", count: 32 * 1024 - 200)
        let fits = #"{"messageId":"m3","type":"track","event":"x","accountId":"acme","timestamp":"2026-11-23T08:00:00Z","receivedAt":"2026-11-23T08:00:01Z","properties":{"note":"\#(padding)"}}"#
        #expect(try AccountEvent.parse(Array(fits.utf8)).properties["note"] == .string(padding))

        let huge = fits.replacingOccurrences(of: padding, with: String(repeating: "x", count: 70_000))
        #expect {
            try AccountEvent.parse(Array(huge.utf8))
        } throws: { error in
            (error as? EventError)?.code == .tooLarge && "\(error)".contains("limit is 65536")
        }
    }

    @Test("An event may name only its user; it round-trips without an account")
    func userOnlyEventParses() throws {
        let text = #"{"messageId":"m2","type":"track","event":"x","userId":"u1","timestamp":"2026-11-23T08:00:00Z"}"#
        let event = try AccountEvent.parse(Array(text.utf8))
        #expect(event.accountId == nil)
        #expect(event.routingKey == "unresolved")
        #expect(try AccountEvent.parse(event.encoded()) == event)
        #expect(!String(decoding: event.encoded(), as: UTF8.self).contains("accountId"))
    }

    @Test(
        "Bad events are refused, naming the field",
        arguments: [
            ("{not json", EventError.Code.malformedJSON, nil),
            ("[1,2]", .invalidField, nil),
            (#"{"type":"track","event":"x","accountId":"a","timestamp":"2026-11-23T08:00:00Z"}"#, .missingField, "messageId"),
            (#"{"messageId":"m","type":"track","event":"x","timestamp":"2026-11-23T08:00:00Z"}"#, .missingField, "accountId"),
            (#"{"messageId":"m","type":"track","accountId":"a","timestamp":"2026-11-23T08:00:00Z"}"#, .missingField, "event"),
            (#"{"messageId":"m","type":"alias","accountId":"a","timestamp":"2026-11-23T08:00:00Z"}"#, .invalidField, "type"),
            (#"{"messageId":"m","type":"track","event":"x","accountId":"a","timestamp":"yesterday"}"#, .invalidField, "timestamp"),
            (#"{"messageId":"m","type":"track","event":"x","accountId":7,"timestamp":"2026-11-23T08:00:00Z"}"#, .invalidField, "accountId"),
            (#"{"messageId":"m","type":"track","event":"x","accountId":"a","timestamp":"2026-11-23T08:00:00Z","properties":[]}"#, .invalidField, "properties"),
            (#"{"messageId":"","type":"track","event":"x","accountId":"a","timestamp":"2026-11-23T08:00:00Z"}"#, .missingField, "messageId"),
        ] as [(String, EventError.Code, String?)])
    func badEventsAreRefused(json: String, code: EventError.Code, field: String?) {
        #expect {
            _ = try AccountEvent.parse(Array(json.utf8))
        } throws: { error in
            let error = error as! EventError
            return error.code == code && error.field == field
        }
    }

    @Test("A NUL character anywhere PostgreSQL would store it is refused, naming the field")
    func nulCharactersAreRefused() {
        let cases = [
            ("event", #"{"messageId":"m","type":"track","event":"a\u0000b","accountId":"acme","timestamp":"2026-11-23T08:00:00Z"}"#),
            ("userId", #"{"messageId":"m","type":"track","event":"x","userId":"u\u0000","timestamp":"2026-11-23T08:00:00Z"}"#),
            ("properties", #"{"messageId":"m","type":"track","event":"x","accountId":"a","timestamp":"2026-11-23T08:00:00Z","properties":{"n":["\u0000"]}}"#),
            ("traits", #"{"messageId":"m","type":"identify","accountId":"a","userId":"u","timestamp":"2026-11-23T08:00:00Z","traits":{"k\u0000":1}}"#),
        ]
        for (field, text) in cases {
            #expect(throws: EventError(.invalidField, field: field, "\(field) contains a NUL character (\\u0000), which cannot be stored")) {
                try AccountEvent.parse(Array(text.utf8))
            }
        }
    }

    @Test("Identifiers longer than 256 bytes are refused, not truncated")
    func longIdentifiersAreRefused() {
        let json = #"{"messageId":"m","type":"track","event":"x","accountId":"\#(String(repeating: "a", count: 300))","timestamp":"2026-11-23T08:00:00Z"}"#
        #expect(throws: EventError.self) { try AccountEvent.parse(Array(json.utf8)) }
    }
}
