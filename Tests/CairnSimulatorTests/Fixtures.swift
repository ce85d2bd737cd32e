import CairnCore
import CairnSimulator
import Foundation

/// Simulation runs shared by the tests, and small helpers over them.
enum Fixtures {
    static func configuration(accounts: Int, days: Int, seed: UInt64) -> SimulationConfiguration {
        SimulationConfiguration(accounts: accounts, days: days, seed: seed, start: SimulationConfiguration.defaultStart)
    }

    /// The whole stream as NDJSON bytes.
    static func ndjson(_ configuration: SimulationConfiguration) throws -> [UInt8] {
        try Simulation(configuration: configuration).reduce(into: []) { $0 += NDJSONWriter.lines($1.events) }
    }

    /// 64-bit FNV-1a, to compare streams by a hash as well as byte by byte.
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }

    static func isUsage(_ event: AccountEvent) -> Bool {
        event.type == .track && !CanonicalEvent.all.contains(event.event ?? "")
    }

    /// A mid-sized run over half a year, summarised once for the behaviour tests.
    static let behaviour = try! Behaviour(configuration(accounts: 300, days: 180, seed: 11))

    /// A small run kept whole, for tests that look at every event.
    static let small = try! Array(Simulation(configuration: configuration(accounts: 60, days: 60, seed: 7)))
}

/// What the behaviour tests need from a run, without keeping every event.
struct Behaviour {
    struct BusinessEvent {
        var day: Int
        var time: Date
        var name: String
        var userId: String?
        var properties: [String: JSONValue]
    }

    let truth: GroundTruth
    let days: Int
    /// Product usage events per account and day.
    var usage: [String: [Int]] = [:]
    /// People identified per account.
    var people: [String: Set<String>] = [:]
    /// Canonical (business) events per account, in stream order.
    var business: [String: [BusinessEvent]] = [:]
    /// `identify` calls: (account, user, role, time).
    var identities: [(accountId: String, userId: String, role: String, time: Date)] = []
    /// The last day each account sent anything.
    var lastDay: [String: Int] = [:]
    var weekdayUsage = 0
    var weekdays = 0
    var weekendUsage = 0
    var weekendDays = 0

    init(_ configuration: SimulationConfiguration) throws {
        let simulation = try Simulation(configuration: configuration)
        truth = simulation.groundTruth
        days = configuration.days
        for account in truth.accounts { usage[account.accountId] = Array(repeating: 0, count: days) }
        for day in simulation {
            let weekday = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: day.date).weekday!
            let weekend = weekday == 1 || weekday == 7
            var used = 0
            for event in day.events {
                // The simulator always names the account.
                let accountId = event.accountId ?? ""
                lastDay[accountId] = day.index
                if Fixtures.isUsage(event) {
                    usage[accountId]![day.index] += 1
                    used += 1
                } else if event.type == .track {
                    business[accountId, default: []].append(
                        BusinessEvent(day: day.index, time: event.timestamp, name: event.event!, userId: event.userId, properties: event.properties))
                } else if event.type == .identify {
                    people[accountId, default: []].insert(event.userId!)
                    identities.append((accountId, event.userId!, event.traits["role"]?.stringValue ?? "", event.timestamp))
                }
            }
            if weekend {
                weekendUsage += used
                weekendDays += 1
            } else {
                weekdayUsage += used
                weekdays += 1
            }
        }
    }

    func dayIndex(_ date: Date) -> Int {
        Int((date.timeIntervalSince(truth.start) / 86_400).rounded(.down))
    }

    func events(_ accountId: String, named name: String) -> [BusinessEvent] {
        (business[accountId] ?? []).filter { $0.name == name }
    }

    /// Usage events per identified person per day over `days`, clipped to the period.
    func usageRate(_ accountId: String, days range: Range<Int>) -> Double? {
        let clipped = max(0, range.lowerBound)..<min(days, range.upperBound)
        guard clipped.count >= 14, let people = people[accountId], !people.isEmpty else { return nil }
        let total = usage[accountId]![clipped].reduce(0, +)
        return Double(total) / Double(clipped.count) / Double(people.count)
    }
}
