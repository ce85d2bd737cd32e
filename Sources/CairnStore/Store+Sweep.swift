import CairnCore
public import Foundation
public import Logging
import PostgresNIO

/// Which clock decides "now" for time-based re-evaluation (CONTRACT.md, "Time").
public enum EvaluationClock: String, Sendable, Hashable {
    /// The wall clock: production.
    case wall
    /// The latest event time stored: simulations and replays, so every process agrees on the simulated "now".
    case stream
}

/// What one sweep did.
public struct SweepOutcome: Sendable, Hashable {
    /// False when another process held the sweep lock: then this one did nothing.
    public var ran: Bool
    public var accounts: Int
    public var signals: Int
}

extension Store {
    /// Key of the advisory lock that elects the one process sweeping at a time.
    static let sweepLock: Int64 = 0x6361_6972_6E5F_7377  // "cairn_sw"

    /// The evaluation time of the given clock: for the stream clock, the latest event time stored (what the API
    /// calls "now").
    public func now(_ clock: EvaluationClock, logger: Logger) async throws -> Date? {
        switch clock {
        case .wall:
            return Date()
        case .stream:
            return try await streamClock("SELECT max(latest) FROM stream_clock", logger: logger)
        }
    }

    /// The time the sweep may judge silence at. For the stream clock, the earliest of the partitions' latest stored
    /// event times (a low watermark): each partition's events are applied in the order they were published, so an
    /// account is judged quiet at a midnight only once its own partition has passed it, and the events it had
    /// before then are all in. With the latest time instead, a sweep ahead of a lagging partition (a worker
    /// restarting, a backlog) judged its accounts quiet while their events were still queued, and those events then
    /// came in after their account had been evaluated past them. A partition that stops getting events holds the
    /// sweep back; its accounts' events then evaluate the midnights they missed themselves (`Store.apply`), with
    /// the same outcome.
    public func sweepTime(_ clock: EvaluationClock, logger: Logger) async throws -> Date? {
        switch clock {
        case .wall:
            return Date()
        case .stream:
            return try await streamClock("SELECT min(latest) FROM stream_clock", logger: logger)
        }
    }

    /// One time read from `stream_clock`; nil before any event was stored.
    private func streamClock(_ query: PostgresQuery, logger: Logger) async throws -> Date? {
        for try await latest in try await client.query(query, logger: logger).decode(Date?.self) { return latest }
        return nil
    }

    /// The `stream_clock` row of a work-queue partition.
    static func clockRow(partition: Int) -> String { "partition-\(partition)" }

    /// A sweep chunk's transaction longer than this is logged (its accounts' rows were locked all along).
    static let slowSweepChunk = Duration.seconds(2)

    /// Re-evaluates the accounts quiet at the last midnight (UTC) before `now`: those without an event for a day
    /// then and not evaluated since (`JourneyEngine.quietMidnights`): silence lowers usage, SLAs pass, renewal
    /// windows open, anniversaries come, without any event. The engine evaluates each at every quiet midnight it
    /// missed up to that one. Sweeping again before the next midnight finds nothing to do, so the moments an
    /// account is evaluated at do not depend on when or how often escalators sweep. Runs in chunks of `chunk`
    /// accounts, each chunk in its own transaction with its rows locked (`SKIP LOCKED`: a worker busy with an
    /// account keeps it, and evaluates the midnight itself), and only in the process that holds the sweep lock, so
    /// two escalators never sweep at once.
    public func sweep(now: Date, chunk: Int = 500, logger: Logger) async throws -> SweepOutcome {
        var outcome = SweepOutcome(ran: false, accounts: 0, signals: 0)
        let midnight = Timestamp.day(of: now)
        let quietSince = midnight.addingTimeInterval(-JourneyEngine.quietDay)
        while true {
            let began = ContinuousClock.now
            let step = try await client.checkedTransaction(logger: logger) { connection -> (ran: Bool, accounts: Int, signals: Int, done: Bool) in
                var elected = false
                for try await got in try await connection.checkedQuery(
                    "SELECT pg_try_advisory_xact_lock(\(Self.sweepLock))", logger: logger
                ).decode(Bool.self) { elected = got }
                guard elected else { return (false, 0, 0, true) }
                var ids: [String] = []
                let rows = try await connection.checkedQuery(
                    """
                    SELECT a.account_id FROM accounts a JOIN health h ON h.account_id = a.account_id
                    WHERE h.evaluated_at < \(midnight) AND a.last_event_at <= \(quietSince)  -- JourneyEngine.isQuiet
                    ORDER BY a.account_id
                    LIMIT \(chunk)
                    FOR UPDATE OF a SKIP LOCKED
                    """, logger: logger)
                for try await id in rows.decode(String.self) { ids.append(id) }
                guard !ids.isEmpty else { return (true, 0, 0, true) }
                var states = try await lockAccounts(ids, on: connection, logger: logger)
                // From each account's first quiet midnight not evaluated yet.
                let from = states.compactMapValues { JourneyEngine.quietMidnights(of: $0, before: midnight).first }
                let contexts = try await loadContexts(
                    ids, now: Dictionary(uniqueKeysWithValues: ids.map { ($0, midnight) }), from: from, on: connection,
                    logger: logger)
                var outcomes: [JourneyEngine.Outcome] = []
                for id in ids {
                    guard let state = states.removeValue(forKey: id) else { continue }
                    outcomes.append(
                        JourneyEngine.reevaluate(state, context: contexts[id] ?? .init(), now: midnight, configuration: engine))
                }
                try await save(outcomes, partition: nil, on: connection, logger: logger)
                let signals = outcomes.flatMap(\.signals)
                try await enqueue(signals, on: connection, logger: logger)
                return (true, outcomes.count, signals.count, ids.count < chunk)
            }
            // A worker that needs one of the chunk's accounts waits for this commit: say so when that was long.
            let held = ContinuousClock.now - began
            if held > Self.slowSweepChunk {
                logger.warning(
                    "sweep chunk held its accounts' rows long; workers needing them waited",
                    metadata: ["cairn.sweep_accounts": "\(step.accounts)", "cairn.sweep_held": "\(held)"])
            }
            outcome.ran = outcome.ran || step.ran
            outcome.accounts += step.accounts
            outcome.signals += step.signals
            if step.done { return outcome }
        }
    }
}
