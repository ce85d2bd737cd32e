import CairnCore
import Foundation

/// An event the simulator has decided on, before it takes its place in the stream and gets its `messageId`.
struct Emission: Sendable {
    /// Seconds since 1970, UTC; whole seconds, so the millisecond timestamps of the wire format hold them exactly.
    var time: Int64
    var type: AccountEvent.Kind
    var name: String?
    var accountId: String
    var userId: String?
    var properties: [String: JSONValue] = [:]
    var traits: [String: JSONValue] = [:]

    /// The event, received as it happens, or at `sentFrom` when it happened earlier (an account's history, sent at
    /// the start of the period).
    func event(messageId: String, sentFrom: Int64) -> AccountEvent {
        AccountEvent(
            messageId: messageId, type: type, event: name, accountId: accountId, userId: userId,
            timestamp: Date(timeIntervalSince1970: Double(time)),
            receivedAt: Date(timeIntervalSince1970: Double(max(time, sentFrom))), properties: properties, traits: traits)
    }
}

/// What the accounts need to know about the simulated day.
struct DayContext: Sendable {
    /// Days since the start of the period.
    var index: Int
    var isWeekend: Bool
    /// Multiplies product usage: quieter at weekends and over the year-end holidays.
    var seasonality: Double

    init(index: Int, date: CivilDate) {
        self.index = index
        isWeekend = date.isWeekend
        let (_, month, day) = date.components
        let holidays = (month == 12 && day >= 24) || (month == 1 && day == 1)
        seasonality = (isWeekend ? 0.15 : 1) * (holidays ? 0.5 : 1)
    }
}
