public import CairnCore
public import Foundation

/// A synthetic SaaS customer base and its event stream, one simulated day at a time.
///
/// Iterating gives the days in order, each with its events sorted by timestamp (ties in the order they were
/// decided), so a caller can publish day by day at any speed. Day 0 also carries each account's history from
/// before the period (contract signed, past renewals, milestones, CSM assignment) with its original timestamps,
/// and the `identify` and `group` calls of existing customers; each event's `receivedAt` is when it is sent: as it
/// happens, or at the start of the period for that history. `messageId`s are `sim-<seed>-<n>`, numbered in
/// stream order from 1. The same configuration always gives the same stream, byte for byte.
///
/// ```swift
/// let simulation = try Simulation(configuration: SimulationConfiguration(accounts: 200, days: 30))
/// for day in simulation { try publish(day.events) }
/// let truth = simulation.groundTruth
/// ```
public struct Simulation: Sequence, Sendable {
    public let configuration: SimulationConfiguration
    let accounts: [SimulatedAccount]

    /// Draws the accounts (profiles, fates, plans); throws if the configuration cannot be run.
    public init(configuration: SimulationConfiguration) throws(SimulatorError) {
        if let problem = configuration.problem { throw SimulatorError(.invalidConfiguration, problem) }
        self.configuration = configuration
        accounts = (0..<configuration.accounts).map { SimulatedAccount(index: $0, configuration: configuration) }
    }

    /// What really happens to every account, for evaluating Cairn's health and alerts.
    public var groundTruth: GroundTruth {
        GroundTruth(
            seed: configuration.seed, start: CivilDate(configuration.start).date, days: configuration.days,
            accounts: accounts.map(\.truth))
    }

    public func makeIterator() -> Iterator {
        Iterator(configuration: configuration, accounts: accounts)
    }

    public struct Iterator: IteratorProtocol, Sendable {
        let configuration: SimulationConfiguration
        let startDay: CivilDate
        var accounts: [SimulatedAccount]
        var day = 0
        var messages = 0

        init(configuration: SimulationConfiguration, accounts: [SimulatedAccount]) {
            self.configuration = configuration
            self.startDay = CivilDate(configuration.start)
            self.accounts = accounts
        }

        public mutating func next() -> SimulatedDay? {
            guard day < configuration.days else { return nil }
            let date = CivilDate(epochDay: startDay.epochDay + day)
            let context = DayContext(index: day, date: date)
            var emissions: [Emission] = []
            emissions.reserveCapacity(accounts.count * 4)
            for index in accounts.indices {
                accounts[index].simulate(context, into: &emissions)
            }
            let order = emissions.indices.sorted { (emissions[$0].time, $0) < (emissions[$1].time, $1) }
            var events: [AccountEvent] = []
            events.reserveCapacity(order.count)
            for index in order {
                messages += 1
                events.append(
                    emissions[index].event(messageId: "sim-\(configuration.seed)-\(messages)", sentFrom: Int64(startDay.date.timeIntervalSince1970)))
            }
            defer { day += 1 }
            return SimulatedDay(index: day, date: date.date, events: events)
        }
    }
}

/// One simulated day's events, in timestamp order.
public struct SimulatedDay: Sendable {
    /// Days since the start of the period (0-based).
    public let index: Int
    /// Midnight UTC of the day.
    public let date: Date
    public let events: [AccountEvent]

    public init(index: Int, date: Date, events: [AccountEvent]) {
        self.index = index
        self.date = date
        self.events = events
    }
}

extension Simulation {
    /// Writes every day's events to `sink`, in order, then finishes it; `progress` is called after each day with
    /// the day and the number of events written so far. Returns the number of events.
    @discardableResult
    public func write(to sink: some EventSink, progress: (SimulatedDay, Int) -> Void = { _, _ in }) async throws -> Int {
        var written = 0
        for day in self {
            try await sink.write(day.events)
            written += day.events.count
            progress(day, written)
        }
        try await sink.finish()
        return written
    }
}
