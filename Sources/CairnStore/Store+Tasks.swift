public import CairnCore
import Foundation
public import Logging
import PostgresNIO

/// What one batch of signals did in the escalator.
public struct SignalOutcome: Sendable, Hashable {
    public var handled: Int
    public var duplicates: Int
    /// Tasks created (each also queued in the outbox for its destination).
    public var created: Int
    /// Signals that matched a play already open for the account: that task's trigger was updated instead.
    public var updated: Int
    /// Plays not started because the same play closed for the account within its cool-down.
    public var cooledDown = 0
    /// Automated messages queued for `cairn.outreach`.
    public var outreach = 0
}

extension Store {
    /// Name under which the escalator records the signals it has handled.
    public static let escalatorConsumer = "escalator"

    /// Handles a batch of signals in one transaction: skips the ones already handled, asks `decide` for the plan
    /// each calls for, and for each task: skips it within its play's cool-down, refreshes the open task of the
    /// same play instead of making another, or creates it (a pool task goes to the member with the fewest open
    /// tasks, or the next in turn) and queues it in the outbox for `cairn.tasks`; outreach is recorded and queued
    /// for `cairn.outreach`. A crash anywhere rolls all of it back, and the redelivered signals do it again once.
    /// The decisions are made in signal order (`TaskBatch`) and written set-based: a batch is about ten statements
    /// however many signals it holds.
    public func handle(
        _ signals: [Signal], logger: Logger, decide: @Sendable (Signal, AccountContext) -> EscalationPlan
    ) async throws -> SignalOutcome {
        var unique: [String: Signal] = [:]
        for signal in signals where unique[signal.signalId] == nil { unique[signal.signalId] = signal }
        let ordered = unique.values.sorted { $0.signalId < $1.signalId }
        guard !ordered.isEmpty else { return SignalOutcome(handled: 0, duplicates: signals.count, created: 0, updated: 0) }

        return try await client.checkedTransaction(logger: logger) { connection in
            let rows = try await connection.checkedQuery(
                """
                INSERT INTO processed_messages (consumer, message_id)
                SELECT \(Self.escalatorConsumer), unnest(\(ordered.map(\.signalId))) ORDER BY 2
                ON CONFLICT DO NOTHING RETURNING message_id
                """, logger: logger)
            var freshIDs = Set<String>()
            for try await id in rows.decode(String.self) { freshIDs.insert(id) }
            let fresh = ordered.filter { freshIDs.contains($0.signalId) }
            var outcome = SignalOutcome(handled: fresh.count, duplicates: signals.count - fresh.count, created: 0, updated: 0)
            guard !fresh.isEmpty else { return outcome }

            let contexts = try await accountContexts(Array(Set(fresh.map(\.accountId))).sorted(), on: connection, logger: logger)
            let plans = fresh.map { signal in
                (signal: signal, plan: decide(signal, contexts[signal.accountId] ?? AccountContext(accountId: signal.accountId)))
            }
            let cooldowns = Dictionary(engine.playbooks.map { ($0.id, $0.cooldownDays) }, uniquingKeysWith: max)
            let keys = TaskBatch.keys(of: plans).sorted { ($0.account, $0.playbook) < ($1.account, $1.playbook) }
            let lastClosed = try await latestClosings(keys.filter { (cooldowns[$0.playbook] ?? 0) > 0 }, on: connection, logger: logger)
            let taskKeys = Set(plans.flatMap { $0.plan.tasks.map { PlayKey(account: $0.accountId, playbook: $0.playbook) } })
            let open = try await openPlays(keys.filter(taskKeys.contains), on: connection, logger: logger)
            let pools = Set(plans.flatMap { $0.plan.tasks.filter { $0.assignee.kind == "pool" }.map(\.assignee.id) })
                .filter { !(engine.roster.pools[$0]?.members.isEmpty ?? true) }
            let loads = try await poolLoads(pools.sorted(), on: connection, logger: logger)
            let batch = TaskBatch(
                plans: plans, cooldownDays: cooldowns, lastClosed: lastClosed, open: open, pools: engine.roster.pools, loads: loads)
            let (created, refreshed, sent) = try await write(batch, on: connection, logger: logger)
            outcome.created = created
            outcome.updated = refreshed
            outcome.outreach = sent
            outcome.cooledDown = batch.cooledDown
            return outcome
        }
    }

    private func accountContexts(_ ids: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String: AccountContext] {
        let rows = try await connection.checkedQuery(
            """
            SELECT a.account_id, a.name, a.csm_id, a.segment, j.stage, h.score, h.band, h.explanation, h.evaluated_at,
                   a.last_event_at
            FROM accounts a
            LEFT JOIN journey j ON j.account_id = a.account_id
            LEFT JOIN health h ON h.account_id = a.account_id
            WHERE a.account_id = ANY(\(ids))
            """, logger: logger)
        var contexts: [String: AccountContext] = [:]
        for try await row in rows.decode((String, String?, String?, String?, String?, Int?, String?, String?, Date?, Date?).self) {
            var context = AccountContext(
                accountId: row.0, name: row.1, csmId: row.2, segment: row.3,
                stage: row.4.flatMap(JourneyStage.init(rawValue:)) ?? .awareness, lastEventAt: row.9)
            if let score = row.5, let band = row.6.flatMap(HealthBand.init(rawValue:)) {
                context.health = HealthScore(
                    score: score, band: band, components: [], explanation: row.7 ?? "", evaluatedAt: row.8 ?? .distantPast)
            }
            contexts[row.0] = context
        }
        return contexts
    }
}
