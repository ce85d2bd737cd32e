public import Foundation

/// ISO-8601 timestamps as the contract writes them, with or without fractional seconds.
///
/// The common forms (`2026-11-23T08:00:00Z`, with up to six fractional digits and `Z` or a `±hh:mm` offset, years
/// 1900 to 9999) are read and written here directly: Foundation's ISO-8601 style took 5 µs to format and 15 µs to
/// parse one, on every event, and its formatter does not round-trip its own parse (`…00.002Z` came back as
/// `…00.001Z`). Anything else goes to Foundation, which stays the judge of what is valid.
public enum Timestamp {
    public static func parse(_ text: String) -> Date? {
        if let date = parseCommon(text) { return date }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Millisecond precision, UTC, e.g. `2026-11-23T08:00:00.000Z`: the time truncated to the millisecond, except
    /// that a time within its rounding error (a microsecond, or four units in the last place of the `Double`, which
    /// for year 9999 is about 60 µs) below a millisecond counts as that millisecond. So a time read from a
    /// millisecond timestamp writes back the same text in every year, which truncating the float does not do.
    public static func format(_ date: Date) -> String {
        let time = date.timeIntervalSince1970
        guard time >= -2_208_988_800, time < 253_402_300_800 else {  // 1900 ..< 10000
            return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        }
        var seconds = Int64(time.rounded(.down))
        let fraction = time - Double(seconds)  // exact, in [0, 1)
        var millis = Int64((fraction * 1000 + Self.formatTolerance(time) * 1000).rounded(.down))
        if millis >= 1000 {
            seconds += 1
            millis -= 1000
            if seconds >= 253_402_300_800 { return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }
        }
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = CivilDate(epochDay: Int(days)).components
        var bytes = [UInt8]()
        bytes.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(year, 4); bytes.append(UInt8(ascii: "-")); digits(month, 2); bytes.append(UInt8(ascii: "-")); digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2); bytes.append(UInt8(ascii: ":")); digits(secondOfDay / 60 % 60, 2)
        bytes.append(UInt8(ascii: ":")); digits(secondOfDay % 60, 2)
        bytes.append(UInt8(ascii: ".")); digits(Int(millis), 3); bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Seconds below a millisecond edge that `format` still counts as the edge: the float's rounding error.
    static func formatTolerance(_ time: Double) -> Double {
        max(0.000_001, 4 * time.ulp)
    }

    /// `yyyy-mm-ddThh:mm:ss[.f{1,6}](Z|±hh:mm|±hhmm)` with every field in its ordinary range; nil for anything
    /// else (leap seconds, 24:00, day 31 of a 30-day month, other years…), which Foundation then judges.
    static func parseCommon(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            var index = 0
            func number(_ count: Int) -> Int? {
                guard index + count <= bytes.count else { return nil }
                var value = 0
                for offset in index..<(index + count) {
                    let digit = Int(bytes[offset]) - Int(UInt8(ascii: "0"))
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                index += count
                return value
            }
            func skip(_ byte: Character) -> Bool {
                guard index < bytes.count, bytes[index] == byte.asciiValue! else { return false }
                index += 1
                return true
            }
            guard let year = number(4), (1900...9999).contains(year), skip("-"),
                let month = number(2), (1...12).contains(month), skip("-"),
                let day = number(2), let date = CivilDate(year: year, month: month, day: day), skip("T"),
                let hour = number(2), hour < 24, skip(":"), let minute = number(2), minute < 60, skip(":"),
                let second = number(2), second < 60
            else { return nil }
            var micros = 0
            if skip(".") {
                let start = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]), index - start < 7 {
                    micros = micros * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                    index += 1
                }
                let count = index - start
                guard (1...6).contains(count) else { return nil }
                for _ in count..<6 { micros *= 10 }
            }
            var offset = 0
            if skip("Z") {
            } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let hours = number(2), hours < 24 else { return nil }
                _ = skip(":")
                guard let minutes = number(2), minutes < 60 else { return nil }
                offset = sign * (hours * 3600 + minutes * 60)
            } else {
                return nil
            }
            guard index == bytes.count else { return nil }
            let seconds = date.epochDay * 86_400 + hour * 3600 + minute * 60 + second - offset
            return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
        }
    }

    /// The UTC day a moment falls on, as a date at midnight UTC.
    public static func day(of date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }
}

extension Int64 {
    /// Division rounding toward minus infinity.
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return self % divisor < 0 ? quotient - 1 : quotient
    }
}

extension JSONEncoder {
    /// Dates as ISO-8601 strings with milliseconds, keys sorted so equal values encode to equal bytes.
    public static var cairn: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }
}

extension JSONDecoder {
    public static var cairn: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an ISO-8601 date, got \(text)")
            }
            return date
        }
        return decoder
    }
}
