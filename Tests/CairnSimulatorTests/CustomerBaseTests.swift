import CairnCore
import CairnSimulator
import Foundation
import Testing

@Suite("Simulated customer base")
struct CustomerBaseTests {
    static let base = try! Simulation(configuration: Fixtures.configuration(accounts: 3_000, days: 180, seed: 3)).groundTruth

    func accounts(_ segment: CustomerSegment) -> [AccountTruth] {
        Self.base.accounts.filter { $0.segment == segment }
    }

    @Test("The segment mix is about 60% SMB, 28% mid-market and 12% enterprise")
    func segmentMixIsAsConfigured() {
        let total = Double(Self.base.accounts.count)
        #expect(abs(Double(accounts(.smb).count) / total - 0.60) < 0.04)
        #expect(abs(Double(accounts(.midMarket).count) / total - 0.28) < 0.04)
        #expect(abs(Double(accounts(.enterprise).count) / total - 0.12) < 0.03)
    }

    @Test(
        "ARR and seats stay in each segment's range, with a typical median",
        arguments: [
            (CustomerSegment.smb, 3_000...30_000, 5...50, 6_000.0...14_000.0),
            (.midMarket, 30_000...150_000, 40...300, 45_000.0...80_000.0),
            (.enterprise, 150_000...2_000_000, 200...5_000, 250_000.0...500_000.0),
        ] as [(CustomerSegment, ClosedRange<Int>, ClosedRange<Int>, ClosedRange<Double>)])
    func sizesFitTheSegment(segment: CustomerSegment, arr: ClosedRange<Int>, seats: ClosedRange<Int>, median: ClosedRange<Double>) {
        let members = accounts(segment)
        #expect(members.allSatisfy { arr.contains($0.arr) && seats.contains($0.seats) })
        #expect(median.contains(EvaluationMath.median(members.map { Double($0.arr) })!))
    }

    @Test("Every fate occurs in every segment; churners are rarest in enterprise")
    func fatesAreMixed() {
        for segment in CustomerSegment.allCases {
            #expect(Set(accounts(segment).map(\.fate)) == Set(Fate.allCases))
        }
        func churnShare(_ segment: CustomerSegment) -> Double {
            Double(accounts(segment).count { $0.fate == .churns }) / Double(accounts(segment).count)
        }
        #expect(churnShare(.enterprise) < churnShare(.smb))
    }

    @Test("High-touch segments have a CSM from the roster; SMB accounts have none")
    func csmsAreAssignedToHighTouchSegments() {
        let roster = Set(SimulationConfiguration().csmRoster)
        #expect(accounts(.smb).allSatisfy { $0.csmId == nil })
        #expect((accounts(.midMarket) + accounts(.enterprise)).allSatisfy { $0.csmId.map(roster.contains) == true })
    }

    @Test("Contracts start before and during the period; renewals fall on or after the start; churn and expansion within it")
    func datesAreSpread() {
        let start = Self.base.start
        let end = start.addingTimeInterval(Double(Self.base.days) * 86_400)
        let before = Self.base.accounts.count { $0.contractStart < start }
        #expect(Double(before) / Double(Self.base.accounts.count) > 0.8)
        #expect(Self.base.accounts.contains { $0.contractStart >= start })
        #expect(Self.base.accounts.contains { $0.contractStart < start.addingTimeInterval(-3 * 365 * 86_400) })
        #expect(Self.base.accounts.allSatisfy { $0.renewalDate >= start && $0.renewalDate > $0.contractStart })
        #expect(Self.base.accounts.filter { $0.fate != .renews }.allSatisfy { $0.fateDate >= start && $0.fateDate < end })
    }

    @Test("The ground truth survives encoding and parsing, with sorted keys and null for a missing CSM")
    func groundTruthRoundTrips() throws {
        let data = Self.base.encoded()
        #expect(try GroundTruth.parse(data) == Self.base)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""csmId" : null"#))
        let first = text.range(of: #""accountId""#)!.lowerBound
        #expect(first < text.range(of: #""arr""#)!.lowerBound)
        #expect(text.range(of: #""fate""#)!.lowerBound < text.range(of: #""fateDate""#)!.lowerBound)
    }

    @Test("A file that is not a ground truth is refused with a readable error")
    func badGroundTruthIsRefused() {
        #expect(throws: SimulatorError.self) { try GroundTruth.parse(Data("[1, 2]".utf8)) }
    }

    @Test("An impossible configuration is refused")
    func badConfigurationIsRefused() {
        #expect(throws: SimulatorError.self) { try Simulation(configuration: Fixtures.configuration(accounts: 0, days: 10, seed: 1)) }
        #expect(throws: SimulatorError.self) { try Simulation(configuration: Fixtures.configuration(accounts: 10, days: 0, seed: 1)) }
    }
}
