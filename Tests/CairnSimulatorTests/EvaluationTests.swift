import CairnCore
import CairnSimulator
import Foundation
import Testing

@Suite("Evaluation maths")
struct EvaluationTests {
    @Test("ROC AUC is 1 for a perfect ranking, 0 for an inverted one, and 0.5 when every score ties")
    func aucExtremes() {
        let labels = [true, true, false, false]
        #expect(EvaluationMath.rocAUC(scores: [0.9, 0.8, 0.3, 0.1], positives: labels) == 1)
        #expect(EvaluationMath.rocAUC(scores: [0.1, 0.3, 0.8, 0.9], positives: labels) == 0)
        #expect(EvaluationMath.rocAUC(scores: [5, 5, 5, 5], positives: labels) == 0.5)
    }

    @Test("ROC AUC counts a tied positive–negative pair as one half")
    func aucWithTies() {
        // Positives score 2 and 3, negatives 1 and 2: pairs won 1 + 0.5 + 1 + 1 of 4.
        #expect(EvaluationMath.rocAUC(scores: [1, 2, 2, 3], positives: [false, true, false, true]) == 0.875)
        // Positives 1, 3; negatives 2, 2, 4: pairs won 0 + 0 + 0 + 1 + 1 + 0 = 2 of 6.
        #expect(EvaluationMath.rocAUC(scores: [1, 2, 2, 3, 4], positives: [true, false, false, true, false]) == 2.0 / 6.0)
    }

    @Test("ROC AUC is undefined without both classes, and ignores scores that are not numbers")
    func aucEdgeCases() {
        #expect(EvaluationMath.rocAUC(scores: [1, 2], positives: [true, true]) == nil)
        #expect(EvaluationMath.rocAUC(scores: [], positives: []) == nil)
        #expect(EvaluationMath.rocAUC(scores: [2, .nan, 1], positives: [true, false, false]) == 1)
    }

    @Test("The median takes the middle value, or the mean of the middle two")
    func median() {
        #expect(EvaluationMath.median([3, 1, 2]) == 2)
        #expect(EvaluationMath.median([4, 1, 3, 2]) == 2.5)
        #expect(EvaluationMath.median([]) == nil)
    }

    static let start = Date(timeIntervalSince1970: 1_767_225_600)

    static func day(_ number: Double) -> Date {
        start.addingTimeInterval(number * 86_400)
    }

    static func account(_ id: String, _ fate: Fate, on fateDay: Double = 100) -> AccountTruth {
        AccountTruth(
            accountId: id, name: id, segment: .smb, arr: 10_000, seats: 10, contractStart: day(-400), renewalDate: day(130),
            fate: fate, fateDate: day(fateDay), csmId: nil)
    }

    /// Three churners (flagged 30 days early, 10 days early, and only after churning), a renewer flagged by
    /// mistake, a quiet renewer, an expander; one account never observed and one observation of an unknown account.
    static let example = Evaluation(
        truth: GroundTruth(
            seed: 1, start: start, days: 180,
            accounts: [
                account("a", .churns), account("b", .churns), account("c", .churns), account("d", .renews),
                account("e", .renews), account("f", .expands, on: 60), account("g", .renews),
            ]),
        observations: [
            AccountObservation(accountId: "a", score: 20, band: .red, firstFlaggedAt: day(70)),
            AccountObservation(accountId: "b", score: 35, band: .red, firstFlaggedAt: day(90)),
            AccountObservation(accountId: "c", score: 50, band: .yellow, firstFlaggedAt: day(110)),
            AccountObservation(accountId: "d", score: 45, band: .yellow, firstFlaggedAt: day(50)),
            AccountObservation(accountId: "e", score: 80, band: .green),
            AccountObservation(accountId: "f", score: 90, band: .green),
            AccountObservation(accountId: "zz", score: 10, band: .red, firstFlaggedAt: day(1)),
        ])

    @Test("Precision and recall count flags before the churn date; late flags are neither hit nor false alarm")
    func precisionAndRecall() {
        let evaluation = Self.example
        #expect(evaluation.accounts == 6)
        #expect(evaluation.unobserved == 1)
        #expect(evaluation.unmatchedObservations == 1)
        #expect(evaluation.churned == 3)
        #expect(evaluation.flagged == 3)
        #expect(evaluation.truePositives == 2)
        #expect(evaluation.lateFlags == 1)
        #expect(evaluation.precision == 2.0 / 3.0)
        #expect(evaluation.recall == 2.0 / 3.0)
    }

    @Test("The lead time is the median of days from first flag to churn over the true positives")
    func leadTime() {
        #expect(Self.example.medianLeadTimeDays == 20)
    }

    @Test("Each band counts its accounts, churners and expanders")
    func bands() {
        let rows = Self.example.bands
        #expect(rows.map(\.band) == [.green, .yellow, .red])
        #expect(rows.map(\.accounts) == [2, 2, 2])
        #expect(rows.map(\.churned) == [0, 1, 2])
        #expect(rows.map(\.expanded) == [1, 0, 0])
        #expect(rows.map(\.churnRate) == [0, 0.5, 1])
    }

    @Test("Churn AUC ranks by 100 - score, expansion AUC by score")
    func aucsOfTheExample() {
        // Risk 80, 65, 50 for churners against 55, 20, 10: 8 of 9 pairs ranked right.
        #expect(Self.example.churnAUC == 8.0 / 9.0)
        #expect(Self.example.expansionAUC == 1)
    }

    @Test("The table aligns its columns and shows every band and figure")
    func table() {
        let text = Self.example.table()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix("band"))
        #expect(lines[1].hasPrefix("green"))
        #expect(lines[3].hasPrefix("red"))
        #expect(lines[4].hasPrefix("all"))
        // Right-aligned numbers: every row of the band table has the same length.
        #expect(Set(lines[0...4].map(\.count)).count == 1)
        #expect(lines[3].hasSuffix("0.0%"))
        #expect(text.contains("0.889"))
        #expect(text.contains("20.0 days"))
        #expect(text.contains("100.0%"))
    }

    @Test("The JSON holds the same figures, with null for what cannot be computed")
    func json() throws {
        let value = try JSONValue.parse(Self.example.json())
        #expect(value["churned"] == 3)
        #expect(value["churn"]?["truePositives"] == 2)
        #expect(value["churn"]?["medianLeadTimeDays"] == 20)
        let red = value["bands"].flatMap { bands -> JSONValue? in
            guard case .array(let rows) = bands else { return nil }
            return rows.last
        }
        #expect(red == ["band": "red", "accounts": 2, "churned": 2, "churnRate": 1, "expanded": 0, "expansionRate": 0])
        let empty = Evaluation(truth: GroundTruth(seed: 1, start: Self.start, days: 1, accounts: []), observations: [])
        let emptyValue = try JSONValue.parse(empty.json())
        #expect(emptyValue["churn"]?["auc"] == .null)
        #expect(emptyValue["churn"]?["precision"] == .null)
    }
}

@Suite("NDJSON output")
struct NDJSONTests {
    @Test("The writer puts one encoded event per line, in order, and the file parses back")
    func writerWritesLines() async throws {
        let days = Array(Fixtures.small.prefix(3))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-sim-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try NDJSONWriter(path: path)
        for day in days { try await writer.write(day.events) }
        try await writer.finish()

        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let events = days.flatMap(\.events)
        let expected = NDJSONWriter.lines(events)
        #expect(bytes.count == expected.count)
        let identical = bytes == expected  // not inside #expect: it would print both arrays on failure
        #expect(identical)
        let lines = bytes.split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == events.count)
        #expect(try lines.map { try AccountEvent.parse($0) } == events)
    }

    @Test("Simulation.write sends every day to the sink and reports progress per day")
    func simulationWritesToASink() async throws {
        let simulation = try Simulation(configuration: Fixtures.configuration(accounts: 20, days: 10, seed: 2))
        let sink = CollectingSink()
        var progress: [Int] = []
        let written = try await simulation.write(to: sink) { day, _ in progress.append(day.index) }
        #expect(progress == Array(0..<10))
        #expect(written == simulation.reduce(0) { $0 + $1.events.count })
        #expect(await sink.events.count == written)
        #expect(await sink.finished)
    }
}

actor CollectingSink: EventSink {
    var events: [AccountEvent] = []
    var finished = false

    func write(_ events: [AccountEvent]) {
        self.events += events
    }

    func finish() {
        finished = true
    }
}
