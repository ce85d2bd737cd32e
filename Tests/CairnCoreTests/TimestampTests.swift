@testable import CairnCore
import Foundation
import Testing

@Suite("Timestamps")
struct TimestampTests {
    static let foundationStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func foundationParse(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601)) ?? (try? Date(text, strategy: foundationStyle))
    }

    static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// A random timestamp in one of the common forms: 0 to 6 fractional digits, `Z` or an offset with or without
    /// its colon, on any valid day of 1900–2199.
    static func randomText(using random: inout some RandomNumberGenerator) -> String {
        let year = Int.random(in: 1900...2199, using: &random)
        let month = Int.random(in: 1...12, using: &random)
        let day = Int.random(in: 1...28, using: &random)
        var text = "\(year)-\(two(month))-\(two(day))T\(two(Int.random(in: 0...23, using: &random))):"
            + "\(two(Int.random(in: 0...59, using: &random))):\(two(Int.random(in: 0...59, using: &random)))"
        let digits = Int.random(in: 0...6, using: &random)
        if digits > 0 { text += "." + (0..<digits).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined() }
        switch Int.random(in: 0...2, using: &random) {
        case 0: text += "Z"
        case 1: text += (Bool.random(using: &random) ? "+" : "-") + "\(two(Int.random(in: 0...14, using: &random))):\(["00", "30", "45"].randomElement(using: &random)!)"
        default: text += (Bool.random(using: &random) ? "+" : "-") + "\(two(Int.random(in: 0...14, using: &random)))00"
        }
        return text
    }

    @Test("The common forms read as Foundation reads them, to the microsecond")
    func parsesLikeFoundation() throws {
        var random = SplitMix(seed: 11)
        for _ in 0..<20_000 {
            let text = Self.randomText(using: &random)
            let fast = try #require(Timestamp.parseCommon(text), "\(text)")
            let reference = try #require(Self.foundationParse(text), "\(text)")
            #expect(abs(fast.timeIntervalSince1970 - reference.timeIntervalSince1970) < 0.000_001, "\(text)")
        }
    }

    @Test("Writing matches Foundation's writer, and a millisecond timestamp reads and writes back as the same text")
    func formatsLikeFoundation() throws {
        var random = SplitMix(seed: 12)
        for _ in 0..<20_000 {
            let seconds = Double.random(in: -2_208_988_800..<7_258_118_400, using: &random)
            let fraction = seconds - seconds.rounded(.down)
            // Foundation truncates the float itself, so it can disagree within a rounding error of a millisecond edge.
            let nearEdge = abs((fraction * 1000).rounded() - fraction * 1000) < Timestamp.formatTolerance(seconds) * 1000
            let date = Date(timeIntervalSince1970: seconds)
            if !nearEdge { #expect(Timestamp.format(date) == date.formatted(Self.foundationStyle), "\(seconds)") }

            let millisecond = "\(Int.random(in: 1900...9999, using: &random))-\(Self.two(Int.random(in: 1...12, using: &random)))-"
                + "\(Self.two(Int.random(in: 1...28, using: &random)))T\(Self.two(Int.random(in: 0...23, using: &random))):"
                + "\(Self.two(Int.random(in: 0...59, using: &random))):\(Self.two(Int.random(in: 0...59, using: &random)))."
                + String(Int.random(in: 1000...1999, using: &random)).dropFirst() + "Z"
            #expect(Timestamp.parse(millisecond).map(Timestamp.format) == millisecond)
        }
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.0004)) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
    }

    @Test("Outside the common forms Foundation decides, and what neither accepts is no time", arguments: [
        "2026-11-23T24:00:00Z", "2026-11-23T08:00:60Z", "2026-02-30T08:00:00Z", "1582-10-10T00:00:00Z",
        "2026-11-23T08:00:00.1234567Z", "2026-11-23t08:00:00z", "2026-11-23 08:00:00Z", "2026-11-23T08:00Z",
        "2026-11-23T08:00:00.Z", "+2026-11-23T08:00:00Z", "2026-11-23", "", "2026-11-23T08:00:00+25:00", "٢٠٢٦-11-23T08:00:00Z",
    ])
    func uncommonForms(text: String) {
        #expect(Timestamp.parseCommon(text) == nil)
        #expect(Timestamp.parse(text) == Self.foundationParse(text))
    }

    @Test("Dates before 1900 and after 9999 are written by Foundation")
    func farDates() {
        for seconds in [-2_208_988_801.0, -62_135_596_800, 253_402_300_800, 1e12] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Timestamp.format(date) == date.formatted(Self.foundationStyle))
        }
    }
}
