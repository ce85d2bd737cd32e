@testable import CairnCore
import Foundation
import Testing

@Suite("Stored facts")
struct FactsCodecTests {
    /// Facts as the engine builds them from a random plausible stream (tickets, invoices, milestones, scores…).
    static func facts(seed: Int) -> AccountFacts {
        var random = SplitMix(seed: UInt64(seed))
        var harness = EngineHarness()
        let events = JourneyPropertyTests.stream(&random)
        for event in events.sorted(by: { $0.timestamp < $1.timestamp }) { harness.apply([event]) }
        harness.reevaluate(at: events.map(\.timestamp).max()!.addingTimeInterval(40 * 86_400))
        return harness.state.facts
    }

    static let codableEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    static let codableDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    @Test("The JSONValue form is the Codable form, and each reads what the other writes", arguments: 0..<40)
    func sameAsCodable(seed: Int) throws {
        // As the worker meets them: read back from the database once. Times are stored as milliseconds in a
        // double, so the engine's own dates (a second's fraction of a computed time) can move by a float's rounding
        // error on the first trip, the same in either form; from there on they are stable.
        let facts = try Self.codableDecoder.decode(AccountFacts.self, from: Self.codableEncoder.encode(Self.facts(seed: seed)))
        #expect(!facts.milestones.isEmpty && !facts.scoreByDay.isEmpty && !facts.raised.isEmpty)
        let codable = try Self.codableEncoder.encode(facts)
        let written = facts.encodedJSON()
        #expect(try JSONValue.parse(Array(written.utf8)) == JSONValue.parse(Array(codable)))
        #expect(try AccountFacts(encodedJSON: String(decoding: codable, as: UTF8.self)) == facts)
        #expect(try Self.codableDecoder.decode(AccountFacts.self, from: Data(written.utf8)) == facts)
        #expect(try AccountFacts(encodedJSON: written) == facts)
    }

    @Test("A new account's empty facts and every optional part left out read as empty facts")
    func empty() throws {
        #expect(try AccountFacts(encodedJSON: "{}") == AccountFacts())
        #expect(try AccountFacts(encodedJSON: AccountFacts().encodedJSON()) == AccountFacts())
    }

    @Test("Damaged facts are an error that names the path, never a crash", arguments: [
        ("[]", "facts: expected an object, found array"),
        ("{\"arr\":{\"value\":\"many\",\"at\":0,\"by\":\"m\"}}", "facts.arr.value: expected a number, found string"),
        ("{\"seats\":{\"value\":2.5,\"at\":0,\"by\":\"m\"}}", "facts.seats.value: expected a whole number, found number"),
        ("{\"name\":{\"value\":\"Acme\",\"at\":0}}", "facts.name.by: missing"),
        ("{\"milestones\":{\"kickoff.completed\":{\"first\":1}}}", "facts.milestones.kickoff.completed.last: missing"),
        ("{\"championChanges\":[1,\"x\"]}", "facts.championChanges[1]: expected a number, found string"),
        ("{\"scoreByDay\":{\"soon\":3}}", "facts.scoreByDay: key soon is not a day number"),
        ("{\"tickets\":{\"t1\":{\"openedAt\":true}}}", "facts.tickets.t1.openedAt: expected a number, found boolean"),
        ("{\"features\":", "facts are not JSON"),
    ])
    func damaged(text: String, message: String) {
        #expect {
            try AccountFacts(encodedJSON: text)
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }
}
