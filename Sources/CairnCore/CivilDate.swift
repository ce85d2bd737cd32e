public import Foundation

/// A UTC calendar day as days since 1970-01-01, with the little calendar arithmetic the simulator needs
/// (Hinnant's days-from-civil and civil-from-days algorithms: exact, proleptic Gregorian, and independent of
/// `Calendar` and the time zone). Timestamps and the simulator use it.
public struct CivilDate: Hashable, Comparable, Sendable {
    public var epochDay: Int

    public init(epochDay: Int) {
        self.epochDay = epochDay
    }

    public init(_ date: Date) {
        epochDay = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), (1...31).contains(day) else { return nil }
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        epochDay = era * 146_097 + dayOfEra - 719_468
        guard components == (year, month, day) else { return nil }  // e.g. February 30
    }

    /// Parses `YYYY-MM-DD`.
    public init?(iso text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public var components: (year: Int, month: Int, day: Int) {
        let z = epochDay + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// 0 = Sunday … 6 = Saturday.
    public var weekday: Int {
        ((epochDay + 4) % 7 + 7) % 7
    }

    public var isWeekend: Bool {
        weekday == 0 || weekday == 6
    }

    /// `YYYY-MM-DD`.
    public var iso: String {
        let (year, month, day) = components
        return "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    /// Midnight UTC of the day.
    public var date: Date {
        Date(timeIntervalSince1970: Double(epochDay) * 86_400)
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        lhs.epochDay < rhs.epochDay
    }
}
