public import CairnStore
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle

/// Re-evaluates accounts that time alone changes (silence, SLAs, renewal windows, anniversaries) every
/// `interval`, at the last midnight of the clock's sweep time (`Store.sweepTime`; `Store.sweep`: a second sweep
/// before the next midnight finds nothing to do). Every escalator runs one; an advisory lock lets only one sweep at
/// a time.
public struct SweepService: Service {
    let store: Store
    let clock: EvaluationClock
    let interval: Duration
    let logger: Logger

    public init(store: Store, clock: EvaluationClock, interval: Duration, logger: Logger) {
        self.store = store
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if let now = try await store.sweepTime(clock, logger: logger) {
                    let started = ContinuousClock.now
                    let outcome = try await store.sweep(now: now, logger: logger)
                    let tasks = try await store.sweepTasks(now: now, logger: logger)
                    Counter(label: "cairn_sweep_tasks_reopened_total").increment(by: tasks.reopened)
                    Counter(label: "cairn_sweep_tasks_escalated_total").increment(by: tasks.escalated)
                    if outcome.ran {
                        Timer(label: "cairn_sweep_seconds").record(duration: ContinuousClock.now - started)
                        Counter(label: "cairn_sweep_accounts_total").increment(by: outcome.accounts)
                        Counter(label: "cairn_sweep_signals_total").increment(by: outcome.signals)
                        if outcome.accounts > 0 {
                            logger.info(
                                "sweep re-evaluated accounts",
                                metadata: ["cairn.accounts": "\(outcome.accounts)", "cairn.signals": "\(outcome.signals)",
                                           "cairn.now": "\(now)"])
                        }
                    }
                }
            } catch {
                logger.warning("sweep failed; trying again next round", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await gracefulShutdownAwareSleep(interval)
        }
    }

    private func gracefulShutdownAwareSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: duration)
        }
    }
}
