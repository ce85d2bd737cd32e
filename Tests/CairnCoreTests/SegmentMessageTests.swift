import CairnCore
import Foundation
import Testing

@Suite("Segment messages")
struct SegmentMessageTests {
    let receivedAt = Timestamp.parse("2026-11-23T10:00:00Z")!

    func translate(_ object: [String: JSONValue], type: String? = "track") throws -> AccountEvent {
        try SegmentMessage.translate(object, type: type, receivedAt: receivedAt, makeID: { "generated" })
    }

    @Test("The account comes from context.groupId, properties.accountId or a group call's groupId")
    func accountIsResolved() throws {
        #expect(try translate(["event": "x", "userId": "u", "context": ["groupId": "a1"]]).accountId == "a1")
        #expect(try translate(["event": "x", "userId": "u", "properties": ["accountId": "a2"]]).accountId == "a2")
        #expect(try translate(["userId": "u", "groupId": "a3"], type: "group").accountId == "a3")
    }

    @Test("An event written as a Segment call translates back to itself (with receivedAt and groupId in context)")
    func segmentCallRoundTrips() throws {
        let at = Timestamp.parse("2026-11-20T09:30:00Z")!
        let events = [
            AccountEvent(messageId: "t", type: .track, event: "Report Exported", accountId: "acme", userId: "u1",
                         timestamp: at, properties: ["n": 2]),
            AccountEvent(messageId: "i", type: .identify, accountId: "acme", userId: "u1", timestamp: at,
                         traits: ["role": "champion"]),
            AccountEvent(messageId: "g", type: .group, accountId: "acme", userId: "u1", timestamp: at,
                         traits: ["plan": "enterprise"]),
            AccountEvent(messageId: "a", type: .track, event: "Invoice Paid", accountId: "acme", timestamp: at),
            AccountEvent(messageId: "u", type: .track, event: "Login", accountId: nil, userId: "u2", timestamp: at),
        ]
        for event in events {
            guard case .object(let call) = event.segmentCall else { Issue.record("not an object"); continue }
            var expected = event
            expected.receivedAt = receivedAt
            if let account = event.accountId { expected.context["groupId"] = .string(account) }
            #expect(try translate(call, type: nil) == expected)
        }
    }

    @Test("Ingest stamps its own receivedAt over a sender's; on the stream clock the sender's sentAt, without skew correction")
    func receivedAtOnEachClock() throws {
        var call: [String: JSONValue] = ["event": "x", "userId": "u", "receivedAt": "2020-01-01T00:00:00Z", "timestamp": "2026-03-01T00:00:00Z"]
        #expect(try translate(call).receivedAt == receivedAt)
        func streamed(_ call: [String: JSONValue]) throws -> AccountEvent {
            try SegmentMessage.translate(call, type: "track", receivedAt: receivedAt, streamClock: true, makeID: { "g" })
        }
        #expect(try streamed(call).receivedAt == nil)
        #expect(try streamed(call).timestamp == Timestamp.parse("2026-03-01T00:00:00Z"))
        call["sentAt"] = "2026-03-05T00:00:00Z"
        #expect(try streamed(call).receivedAt == Timestamp.parse("2026-03-05T00:00:00Z"))
        #expect(try streamed(call).timestamp == Timestamp.parse("2026-03-01T00:00:00Z"))
        // On the wall clock the same sentAt corrects the timestamp to ingest's clock.
        #expect(try translate(call).timestamp == receivedAt.addingTimeInterval(-4 * 86_400))
    }

    @Test("An event naming only a user travels without an account, routed as unresolved")
    func userOnlyEventIsLeftForTheWorker() throws {
        let event = try translate(["event": "x", "userId": "u"])
        #expect(event.accountId == nil)
        #expect(event.routingKey == "unresolved")
        let identify = try translate(["userId": "u", "traits": ["accountId": "acme"]], type: "identify")
        #expect(identify.accountLink?.userId == "u")
        #expect(identify.accountLink?.accountId == "acme")
        #expect(event.accountLink == nil)
    }

    @Test("An event with neither account nor user, or a group call without groupId, is refused with a reason")
    func unresolvableEventIsRefused() {
        #expect(throws: EventError(.missingField, field: "groupId",
            "cannot tell which account this is: set context.groupId or properties.accountId, or a userId")) {
            try translate(["event": "x", "anonymousId": ""])
        }
        #expect(throws: EventError(.missingField, field: "groupId", "group needs groupId")) {
            try translate(["userId": "u"], type: "group")
        }
    }

    @Test("messageId is generated when absent and kept when given")
    func messageIdIsGeneratedWhenAbsent() throws {
        #expect(try translate(["event": "x", "context": ["groupId": "a"]]).messageId == "generated")
        #expect(try translate(["event": "x", "context": ["groupId": "a"], "messageId": "given"]).messageId == "given")
    }

    @Test("timestamp defaults to receivedAt; sentAt corrects the sender's clock skew")
    func timestampsFollowSegment() throws {
        let plain = try translate(["event": "x", "context": ["groupId": "a"]])
        #expect(plain.timestamp == receivedAt)
        #expect(plain.receivedAt == receivedAt)
        // The sender's clock runs 1 hour ahead: it says the event happened 5 s before it was sent.
        let skewed = try translate([
            "event": "x", "context": ["groupId": "a"],
            "timestamp": "2026-11-23T10:59:55Z", "sentAt": "2026-11-23T11:00:00Z",
        ])
        #expect(skewed.timestamp == receivedAt.addingTimeInterval(-5))
    }

    @Test("page and screen calls become track events named after the page")
    func pagesBecomeTrackEvents() throws {
        let page = try translate(["userId": "u", "name": "Pricing", "context": ["groupId": "a"]], type: "page")
        #expect(page.type == .track)
        #expect(page.event == "Viewed Pricing Page")
    }

    @Test("A batch item without a type, or with an unknown one, is refused naming type")
    func batchItemsNeedAType() {
        #expect { try translate(["event": "x", "context": ["groupId": "a"]], type: nil) } throws: {
            ($0 as? EventError)?.field == "type"
        }
        #expect { try translate(["event": "x", "context": ["groupId": "a"], "type": "alias"], type: nil) } throws: {
            ($0 as? EventError)?.field == "type"
        }
    }

    @Test("Wrong types are refused naming the field")
    func wrongTypesAreRefused() {
        #expect { try translate(["event": 5, "context": ["groupId": "a"]]) } throws: { ($0 as? EventError)?.field == "event" }
        #expect { try translate(["event": "x", "context": "a"]) } throws: { ($0 as? EventError)?.field == "context" }
    }
}
