public import Foundation

/// The pure journey and health engine: state + facts + evaluation time → new state + signals. No I/O.
///
/// This is the walking skeleton's first model: stage from milestones, health from recent product usage. The
/// per-segment journeys and the full health model build on the same shape.
public enum JourneyEngine {
    public struct Outcome: Sendable, Hashable {
        public var state: AccountState
        public var signals: [Signal]
    }

    /// Days of usage the health score looks back over.
    public static let usageWindowDays = 14
    /// Active days in the window that count as full usage.
    public static let fullUsageDays = 10

    /// Merges `events` into `state` and re-evaluates stage and health at `now`.
    /// - Parameter activity: the account's usage per day, including these events.
    public static func apply(
        _ events: [AccountEvent], to state: AccountState, activity: [ActivityDay], now: Date
    ) -> Outcome {
        var next = state
        var signals: [Signal] = []
        let ordered = events.sorted { ($0.timestamp, $0.messageId) < ($1.timestamp, $1.messageId) }
        for event in ordered {
            merge(event, into: &next, signals: &signals)
        }

        let (stage, enteredAt) = stage(of: next)
        if stage != state.stage {
            signals.append(
                Signal(
                    signalId: "\(SignalKind.stageEntered)/\(state.accountId)/\(stage.rawValue)/\(enteredAt.map(Timestamp.format) ?? "-")",
                    kind: SignalKind.stageEntered, accountId: state.accountId, at: enteredAt ?? now,
                    data: ["stage": .string(stage.rawValue), "from": .string(state.stage.rawValue)]))
        }
        next.stage = stage
        next.stageEnteredAt = enteredAt

        let health = evaluateHealth(activity: activity, now: now, previous: state.health?.band)
        if let previous = state.health?.band, previous != health.band {
            signals.append(
                Signal(
                    signalId: "\(SignalKind.healthBandChanged)/\(state.accountId)/\(health.band.rawValue)/\(Timestamp.format(now))",
                    kind: SignalKind.healthBandChanged, accountId: state.accountId, at: now,
                    data: [
                        "from": .string(previous.rawValue), "to": .string(health.band.rawValue),
                        "score": .number(Double(health.score)),
                        "reasons": .array(health.components.map { .string($0.reason) }),
                    ]))
        }
        next.health = health
        return Outcome(state: next, signals: signals)
    }

    private static func merge(_ event: AccountEvent, into state: inout AccountState, signals: inout [Signal]) {
        state.eventCount += 1
        state.firstEventAt = min(state.firstEventAt ?? event.timestamp, event.timestamp)
        state.lastEventAt = max(state.lastEventAt ?? event.timestamp, event.timestamp)
        if event.type == .group, let name = event.traits["name"]?.stringValue, event.timestamp >= (state.nameAt ?? .distantPast) {
            state.name = name
            state.nameAt = event.timestamp
        }
        guard event.type == .track, let name = event.event else { return }
        if CanonicalEvent.milestoneStages[name] != nil {
            state.milestones[name] = min(state.milestones[name] ?? event.timestamp, event.timestamp)
        }
        switch name {
        case CanonicalEvent.csmAssigned:
            if let csmId = event.properties["csmId"]?.stringValue, !csmId.isEmpty,
                event.timestamp >= (state.csmAssignedAt ?? .distantPast)
            {
                state.csmId = csmId
                state.csmAssignedAt = event.timestamp
            }
        case CanonicalEvent.contactRoleChanged:
            var data: [String: JSONValue] = [:]
            if let userId = event.userId { data["userId"] = .string(userId) }
            if let role = event.properties["role"] { data["role"] = role }
            signals.append(
                Signal(
                    signalId: "\(SignalKind.contactRoleChanged)/\(event.messageId)", kind: SignalKind.contactRoleChanged,
                    accountId: state.accountId, at: event.timestamp, data: data))
        default:
            break
        }
    }

    /// The furthest stage whose milestone was reached, entered when that milestone was first reached. A churn
    /// wins unless a renewal (or a first contract) was signed after it: a win-back. Milestones keep their first
    /// time only, so a second `contract.signed` after a churn is not seen as a win-back yet.
    static func stage(of state: AccountState) -> (JourneyStage, Date?) {
        var best: (stage: JourneyStage, at: Date)?
        for (name, at) in state.milestones {
            guard let stage = CanonicalEvent.milestoneStages[name] else { continue }
            if let current = best, (current.stage.rank, at) >= (stage.rank, current.at) { continue }
            best = (stage, at)
        }
        if let churn = state.milestones[CanonicalEvent.contractChurned] {
            let winBack = [CanonicalEvent.contractSigned, CanonicalEvent.renewalSigned]
                .compactMap { state.milestones[$0] }.contains { $0 > churn }
            if !winBack { return (.churned, churn) }
            var withoutChurn = state
            withoutChurn.milestones[CanonicalEvent.contractChurned] = nil
            return stage(of: withoutChurn)
        }
        guard let best else { return (.awareness, state.firstEventAt) }
        return (best.stage, best.at)
    }

    /// Health from active days of product usage in the last `usageWindowDays`, with hysteresis between bands.
    static func evaluateHealth(activity: [ActivityDay], now: Date, previous: HealthBand?) -> HealthScore {
        let today = Timestamp.day(of: now)
        let windowStart = today.addingTimeInterval(-Double(usageWindowDays - 1) * 86_400)
        let activeDays = activity.filter { $0.events > 0 && $0.day >= windowStart && $0.day <= today }.count
        let score = min(100, activeDays * 100 / fullUsageDays)
        let band = HealthBands.standard.band(for: score, previous: previous)
        let reason = "active on \(activeDays) of the last \(usageWindowDays) days (\(fullUsageDays) expected)"
        return HealthScore(
            score: score, band: band,
            components: [HealthComponent(name: "usage", score: score, weight: 1, reason: reason)],
            explanation: "Usage: \(reason).", evaluatedAt: now)
    }
}

/// Band thresholds with hysteresis: a band is left only when the score passes its threshold by `margin`, so a
/// score hovering at a threshold does not flap.
public struct HealthBands: Sendable, Hashable {
    public var green: Int
    public var yellow: Int
    public var margin: Int

    public static let standard = HealthBands(green: 70, yellow: 40, margin: 5)

    public func band(for score: Int, previous: HealthBand?) -> HealthBand {
        let plain: HealthBand = score >= green ? .green : score >= yellow ? .yellow : .red
        guard let previous, previous != plain else { return plain }
        switch (previous, plain) {
        case (.green, .yellow): return score >= green - margin ? .green : plain
        case (.yellow, .red): return score >= yellow - margin ? .yellow : plain
        case (.yellow, .green): return score >= green + margin ? .green : .yellow
        case (.red, .yellow): return score >= yellow + margin ? .yellow : .red
        default: return plain
        }
    }
}
