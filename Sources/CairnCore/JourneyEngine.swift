public import Foundation

/// The pure journey and health engine: state + facts + evaluation time → new state + signals. No I/O.
///
/// Events are merged into `AccountFacts`, which do not depend on arrival order or duplicates. Everything else
/// (segment, stage history, milestones, health) is recomputed from the facts at the evaluation time. Signals
/// carry ids derived from the fact that caused them and are raised once per id, so the same facts raise the
/// same signals whatever order they arrived in. Journey and health are evaluated after each event, with the usage
/// and people as they were at that event, so with events in order the signals, their times, when they were found
/// (`Signal.raisedAt`) and the bands they saw do not depend on how events were batched either.
public enum JourneyEngine {
    public struct Outcome: Sendable, Hashable {
        public var state: AccountState
        public var signals: [Signal]
        /// The last health of each day this call evaluated, oldest first: the account's health history.
        public var healthDays: [HealthDay] = []
    }

    /// What the engine needs besides the account's own state and new events: the store's rollups as they were
    /// before the batch. The engine folds each of the batch's events in (`fold`) before evaluating at it.
    public struct Context: Sendable, Hashable {
        /// Product usage per day, at least the usage window before the batch's first evaluation.
        public var activity: [ActivityDay]
        /// The account's people with a key role (`Person.keyRoles`) or who left.
        public var people: [Person]
        /// Users active in the last 30 days at every evaluation of the batch, other than those in `lastSeen`.
        public var activeUsers: Int
        /// Users whose last-seen time decides whether they count as active at an evaluation.
        public var lastSeen: [String: Date]
        /// The batch's other users (no key role): kept so that a role learned later in the batch finds their usage.
        public var others: [Person]

        public init(
            activity: [ActivityDay] = [], people: [Person] = [], activeUsers: Int = 0, lastSeen: [String: Date] = [:],
            others: [Person] = []
        ) {
            self.activity = activity
            self.people = people
            self.activeUsers = activeUsers
            self.lastSeen = lastSeen
            self.others = others
        }

        /// Distinct users active in the 30 days up to `now`.
        public func activeUsers(at now: Date) -> Int {
            let since = now.addingTimeInterval(-30 * 86_400)
            return activeUsers + lastSeen.values.reduce(0) { $0 + ($1 >= since ? 1 : 0) }
        }

        /// Adds what the store's rollups learn from `event`: a day of usage, the user seen, their persona or leaving.
        public mutating func fold(_ event: AccountEvent, configuration: EngineConfiguration) {
            if configuration.isProductUsage(event) {
                let day = Timestamp.day(of: event.timestamp)
                if let index = activity.firstIndex(where: { $0.day == day }) {
                    activity[index].events += 1
                } else {
                    activity.append(ActivityDay(day: day, events: 1))
                }
            }
            guard let userId = event.userId else { return }
            lastSeen[userId] = max(lastSeen[userId] ?? event.timestamp, event.timestamp)
            var person: Person
            if let index = people.firstIndex(where: { $0.userId == userId }) {
                person = people.remove(at: index)
            } else if let index = others.firstIndex(where: { $0.userId == userId }) {
                person = others.remove(at: index)
            } else {
                person = Person(userId: userId, role: nil)
            }
            person.merge(event, configuration: configuration)
            if person.isKey { people.append(person) } else { others.append(person) }
        }
    }

    /// Merges `events` into `state` and re-evaluates everything at `now`.
    ///
    /// Journey and health are evaluated after each event in time order, with `context` folded up to that event, so
    /// signals are found, dated, timed and banded as if each event had come alone, however the events were batched.
    /// Before an event (and before `now`), the account is evaluated at each quiet midnight it has not been evaluated
    /// at yet (`quietMidnights`), so what silence does is seen at the same moments whether the sweep or the
    /// account's next event got there first. The last evaluation is at `now` (the account's latest event time in
    /// the worker; without events, the sweep's time).
    public static func apply(
        _ events: [AccountEvent], to state: AccountState, context: Context, now: Date,
        configuration: EngineConfiguration = .standard
    ) -> Outcome {
        var next = state
        var fresh: [Signal] = []
        // Each signal once: the ids already raised are kept in the facts. `arrival` is when the facts that revealed
        // it arrived (see `Signal.raisedAt`).
        func collect(_ signals: [Signal], arrival: Date) {
            for var signal in signals where next.facts.raised[signal.signalId] == nil {
                next.facts.raised[signal.signalId] = signal.at
                signal.raisedAt = max(arrival, state.lastEventAt ?? arrival)
                signal.stage =
                    signal.kind == SignalKind.stageEntered
                    ? signal.data["stage"]?.stringValue.flatMap(JourneyStage.init(rawValue:))
                    : next.stageHistory.last { $0.enteredAt <= signal.at }?.stage ?? .awareness
                signal.band = next.health?.band
                fresh.append(signal)
            }
        }
        // A sender's arrival time; without one, the evaluation time is all there is.
        func arrival(_ event: AccountEvent) -> Date { max(event.timestamp, event.receivedAt ?? now) }

        let ordered = events.sorted { ($0.timestamp, $0.messageId) < ($1.timestamp, $1.messageId) }
        var context = context
        var signals: [Signal] = []
        var days: [Int: HealthDay] = [:]
        func evaluate(at clock: Date) {
            evaluateJourney(&next, context: context, now: clock, configuration: configuration, signals: &signals)
            evaluateHealth(&next, context: context, now: clock, configuration: configuration, signals: &signals)
            if let health = next.health {
                let day = Timestamp.epochDay(clock)
                days[day] = HealthDay(day: day, score: health.score, band: health.band)
            }
        }
        // The quiet midnights before `time`, each evaluated with what the account knew then. Found when the event
        // that ends the silence arrived (or at the midnight itself, by the sweep).
        func catchUp(before time: Date, arrival: Date) {
            for midnight in quietMidnights(of: next, before: time) {
                evaluate(at: midnight)
                collect(signals, arrival: max(midnight, arrival))
                signals = []
            }
        }
        for (index, event) in ordered.enumerated() {
            catchUp(before: event.timestamp, arrival: arrival(event))
            next.eventCount += 1
            next.firstEventAt = min(next.firstEventAt ?? event.timestamp, event.timestamp)
            next.lastEventAt = max(next.lastEventAt ?? event.timestamp, event.timestamp)
            let name = event.event.map { configuration.eventNames[$0] ?? $0 }
            next.facts.merge(event, canonical: name)
            context.fold(event, configuration: configuration)
            signals += eventSignals(event, canonical: name, accountId: state.accountId, configuration)
            evaluate(at: index < ordered.count - 1 ? evaluationTime(of: event, after: state.lastEventAt) : now)
            collect(signals, arrival: arrival(event))
            signals = []
        }
        if ordered.isEmpty {
            catchUp(before: now, arrival: now)
            evaluate(at: now)
            collect(signals, arrival: now)
        }
        next.facts.prune(now: now)
        return Outcome(
            state: next, signals: fresh.sorted { ($0.at, $0.signalId) < ($1.at, $1.signalId) },
            healthDays: days.values.sorted { $0.day < $1.day })
    }

    /// How long an account must be without events before a midnight for the engine to evaluate it there.
    public static let quietDay: TimeInterval = 86_400
    /// At most this many quiet midnights are evaluated in one go (a year): a longer silence, or an event dated far
    /// ahead, costs no more.
    public static let maxQuietMidnights = 366

    /// The midnights (UTC) before `time` at which `state` is still to be evaluated because it was quiet: each
    /// midnight at least `quietDay` after its latest event and after its latest evaluation, oldest first, at most
    /// `maxQuietMidnights`. None for an account never evaluated. The sweep evaluates at these midnights as they
    /// pass; an event evaluates those the sweep did not get to first; so every quiet midnight is evaluated once,
    /// whoever reaches it.
    public static func quietMidnights(of state: AccountState, before time: Date) -> [Date] {
        guard let evaluated = state.health?.evaluatedAt, let last = state.lastEventAt else { return [] }
        let quiet = last.addingTimeInterval(quietDay)
        let quietFrom = Timestamp.day(of: quiet) == quiet ? quiet : Timestamp.day(of: quiet).addingTimeInterval(quietDay)
        var midnight = max(quietFrom, Timestamp.day(of: evaluated).addingTimeInterval(quietDay))
        var midnights: [Date] = []
        while midnight < time, midnights.count < maxQuietMidnights {
            midnights.append(midnight)
            midnight.addTimeInterval(quietDay)
        }
        return midnights
    }

    /// Whether the sweep at `midnight` evaluates `state`: quiet for a day then, and not evaluated since. The sweep's
    /// query (`Store.sweep`) is this test in SQL.
    public static func isQuiet(_ state: AccountState, at midnight: Date) -> Bool {
        guard let evaluated = state.health?.evaluatedAt, let last = state.lastEventAt else { return false }
        return evaluated < midnight && last <= midnight.addingTimeInterval(-quietDay)
    }

    /// The account's first evaluation when `events` (in time order) are applied to `state`: its first quiet
    /// midnight, or else its first event's evaluation time. The worker loads the context from there.
    public static func firstEvaluation(of events: [AccountEvent], state: AccountState) -> Date? {
        guard let first = events.first else { return nil }
        return quietMidnights(of: state, before: first.timestamp).first ?? evaluationTime(of: first, after: state.lastEventAt)
    }

    /// When the engine evaluates an account after `event`: its time, but never before the account's latest event
    /// stored before the batch (`stored`); a late event is judged at the account's present.
    public static func evaluationTime(of event: AccountEvent, after stored: Date?) -> Date {
        max(event.timestamp, stored ?? event.timestamp)
    }

    /// Re-evaluates without new events: what the passing of time alone changes (silence, SLAs, renewal windows).
    public static func reevaluate(
        _ state: AccountState, context: Context, now: Date, configuration: EngineConfiguration = .standard
    ) -> Outcome {
        apply([], to: state, context: context, now: now, configuration: configuration)
    }

    // MARK: - Signals from single events

    private static func eventSignals(
        _ event: AccountEvent, canonical name: String?, accountId: String, _ configuration: EngineConfiguration
    ) -> [Signal] {
        guard event.type == .track, let name else { return [] }
        func signal(_ kind: String, _ data: [String: JSONValue]) -> Signal {
            var data = data
            if let userId = event.userId { data["userId"] = .string(userId) }
            return Signal(signalId: "\(kind)/\(event.messageId)", kind: kind, accountId: accountId, at: event.timestamp, data: data)
        }
        let properties = event.properties
        switch name {
        case CanonicalEvent.contactRoleChanged:
            return [signal(SignalKind.contactRoleChanged, properties["role"].map { ["role": $0] } ?? [:])]
        case CanonicalEvent.npsSubmitted:
            guard let score = properties["score"]?.doubleValue else { return [] }
            if Int(score) <= configuration.thresholds.npsDetractorMax { return [signal(SignalKind.npsDetractor, ["score": .number(score)])] }
            return score >= 9 ? [signal(SignalKind.npsPromoter, ["score": .number(score)])] : []
        case CanonicalEvent.ticketEscalated:
            return [signal(SignalKind.ticketEscalated, properties["priority"].map { ["priority": $0] } ?? [:])]
        case CanonicalEvent.invoiceOverdue:
            return [signal(SignalKind.invoiceOverdue, ["daysOverdue": properties["daysOverdue"] ?? .number(1)])]
        default:
            return []
        }
    }

    // MARK: - Evaluation

    /// The journey at `now`: segment, stage history, milestones, time to value, and the signals of licences,
    /// renewal windows, anniversaries and champions who left, from the facts and the people known by `now`.
    private static func evaluateJourney(
        _ state: inout AccountState, context: Context, now: Date, configuration: EngineConfiguration, signals: inout [Signal]
    ) {
        let id = state.accountId
        let facts = state.facts
        let segment = configuration.segment(for: facts.segmentAttributes)
        state.segment = segment.name

        // Stage history, from the facts alone.
        let history = stageHistory(facts, now: now)
        for visit in history {
            signals.append(
                Signal(
                    signalId: "\(SignalKind.stageEntered)/\(id)/\(visit.stage.rawValue)/\(Timestamp.format(visit.enteredAt))",
                    kind: SignalKind.stageEntered, accountId: id, at: visit.enteredAt,
                    data: ["stage": .string(visit.stage.rawValue), "reason": .string(visit.reason)]))
        }
        state.stageHistory = history
        state.stage = history.last?.stage ?? .awareness
        state.stageEnteredAt = history.last?.enteredAt ?? state.firstEventAt
        state.tracks = parallelTracks(facts, stage: state.stage)

        // Milestones against their SLAs.
        state.milestones = milestoneStatuses(facts, segment: segment.name, now: now, configuration: configuration)
        for milestone in state.milestones {
            if let reachedAt = milestone.reachedAt {
                signals.append(
                    Signal(
                        signalId: "\(SignalKind.milestoneReached)/\(id)/\(milestone.name)", kind: SignalKind.milestoneReached,
                        accountId: id, at: reachedAt,
                        data: ["milestone": .string(milestone.name), "dueAt": .string(Timestamp.format(milestone.dueAt))]))
            }
            if milestone.status == .missed || milestone.status == .reachedLate {
                signals.append(
                    Signal(
                        signalId: "\(SignalKind.milestoneMissed)/\(id)/\(milestone.name)", kind: SignalKind.milestoneMissed,
                        accountId: id, at: milestone.dueAt,
                        data: ["milestone": .string(milestone.name), "dueAt": .string(Timestamp.format(milestone.dueAt))]))
            }
        }
        if let signed = facts.contractSignedAt, let firstUse = facts.milestones[Milestone.firstUse]?.first {
            state.timeToValueDays = (max(firstUse, signed).timeIntervalSince(signed) / 86_400 * 10).rounded() / 10
        } else {
            state.timeToValueDays = nil
        }

        // Licences.
        let thresholds = configuration.thresholds
        if let purchased = facts.licensesPurchased?.value, purchased > 0, let assigned = facts.licensesAssigned?.value {
            let utilisation = Double(assigned) / Double(purchased)
            let data: [String: JSONValue] = [
                "purchased": .number(Double(purchased)), "assigned": .number(Double(assigned)),
                "utilization": .number((utilisation * 100).rounded() / 100),
            ]
            if utilisation >= thresholds.licenseHigh {
                signals.append(
                    Signal(
                        signalId: "\(SignalKind.licenseUtilizationHigh)/\(id)/\(purchased)", kind: SignalKind.licenseUtilizationHigh,
                        accountId: id, at: max(facts.licensesAssigned!.at, facts.licensesPurchased!.at), data: data))
            } else if utilisation < thresholds.licenseLow, state.stage.rank >= JourneyStage.adoption.rank,
                state.stage != .churned
            {
                // Under-used from when the account was in adoption or beyond with these licences.
                var adopted = state.stageEnteredAt ?? now
                for visit in history.reversed() {
                    guard visit.stage.rank >= JourneyStage.adoption.rank, visit.stage != .churned else { break }
                    adopted = visit.enteredAt
                }
                signals.append(
                    Signal(
                        signalId: "\(SignalKind.licenseUnderused)/\(id)/\(purchased)", kind: SignalKind.licenseUnderused,
                        accountId: id, at: max(facts.licensesAssigned!.at, facts.licensesPurchased!.at, adopted), data: data))
            }
        }

        // Renewal windows and maturity anniversaries: raised once the evaluation time passes them.
        if let renewal = facts.renewalDate?.value, state.stage != .churned {
            for days in thresholds.renewalWindows {
                // Raised once the window has opened, even when the evaluation comes later (a replay, a late
                // batch), so the same facts raise the same windows.
                let opens = renewal.addingTimeInterval(-Double(days) * 86_400)
                guard now >= opens else { continue }
                signals.append(
                    Signal(
                        signalId: "\(SignalKind.renewalWindowOpened)/\(id)/\(Timestamp.format(renewal))/\(days)",
                        kind: SignalKind.renewalWindowOpened, accountId: id, at: opens,
                        data: ["days": .number(Double(days)), "renewalDate": .string(Timestamp.format(renewal))]))
            }
        }
        if let signed = facts.contractSignedAt, state.stage != .churned {
            let tenure = Int(now.timeIntervalSince(signed) / (365.25 * 86_400))
            for years in stride(from: thresholds.maturityYears, through: tenure, by: thresholds.maturityYears) {
                signals.append(
                    Signal(
                        signalId: "\(SignalKind.maturityAnniversary)/\(id)/\(years)", kind: SignalKind.maturityAnniversary,
                        accountId: id, at: signed.addingTimeInterval(Double(years) * 365.25 * 86_400),
                        data: ["years": .number(Double(years))]))
            }
        }

        // Champions who left, known from the people (the role may have been learned after the leaving).
        for person in context.people where person.role == "champion" && !person.isPresent
            && person.leftAt! <= now && (person.roleAt ?? .distantPast) <= now
        {
            signals.append(
                Signal(
                    signalId: "\(SignalKind.championLeft)/\(id)/\(person.userId)",
                    kind: SignalKind.championLeft, accountId: id, at: person.leftAt!,
                    data: ["userId": .string(person.userId), "role": .string("champion")]))
        }
    }

    /// Health at `now`, with its band change and steep-drop signals.
    private static func evaluateHealth(
        _ state: inout AccountState, context: Context, now: Date, configuration: EngineConfiguration, signals: inout [Signal]
    ) {
        let id = state.accountId
        let facts = state.facts
        let segment = configuration.segment(for: facts.segmentAttributes)
        let previous = state.health
        var health = HealthModel.evaluate(
            facts, stage: state.stage, context: context, segment: segment, now: now, previous: previous?.band,
            configuration: configuration)
        if let previous, previous.band == health.band {
            (health.previousBand, health.bandChangedAt) = (previous.previousBand, previous.bandChangedAt ?? now)
        } else {
            (health.previousBand, health.bandChangedAt) = (previous?.band, now)
        }
        state.health = health
        state.atRisk = health.band == .red && state.stage != .churned
        let today = Timestamp.epochDay(now)
        state.facts.scoreByDay[today] = health.score
        if let previous, previous.band != health.band {
            signals.append(
                Signal(
                    signalId: "\(SignalKind.healthBandChanged)/\(id)/\(health.band.rawValue)/\(Timestamp.format(now))",
                    kind: SignalKind.healthBandChanged, accountId: id, at: now,
                    data: [
                        "from": .string(previous.band.rawValue), "to": .string(health.band.rawValue),
                        "score": .number(Double(health.score)), "reasons": .array(health.reasons.map(JSONValue.string)),
                    ]))
        }
        let thresholds = configuration.thresholds
        let recent = state.facts.scoreByDay.filter { $0.key >= today - thresholds.healthDropDays && $0.key < today }
        if let peak = recent.values.max(), peak - health.score >= thresholds.healthDropPoints {
            signals.append(
                Signal(
                    signalId: "\(SignalKind.healthDropped)/\(id)/\(today)", kind: SignalKind.healthDropped, accountId: id,
                    at: now,
                    data: [
                        "from": .number(Double(peak)), "to": .number(Double(health.score)),
                        "days": .number(Double(thresholds.healthDropDays)), "reasons": .array(health.reasons.map(JSONValue.string)),
                    ]))
        }
    }

    // MARK: - Stages

    /// The stage history the facts imply, oldest first. Milestones move the account forward (skipping stages
    /// is fine); a new champion after onboarding sends it back to onboarding until training or onboarding
    /// happens again; a churn ends it unless a renewal or new contract follows (a win-back).
    static func stageHistory(_ facts: AccountFacts, now: Date) -> [StageVisit] {
        enum Step { case milestone(String, JourneyStage), newChampion, reonboarded(String), churn, winBack(String) }
        var steps: [(at: Date, order: Int, step: Step)] = []
        for (name, occurrences) in facts.milestones {
            guard let stage = CanonicalEvent.milestoneStages[name] else { continue }
            if stage == .churned {
                steps.append((occurrences.first, 2, .churn))
            } else {
                steps.append((occurrences.first, 1, .milestone(name, stage)))
            }
        }
        let churn = facts.milestones[CanonicalEvent.contractChurned]?.first
        if let churn {
            let winBacks = [CanonicalEvent.renewalSigned, CanonicalEvent.contractSigned]
                .compactMap { name in facts.milestones[name].map { (name, $0.last) } }
                .filter { $0.1 > churn }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            if let first = winBacks.first { steps.append((first.1, 3, .winBack(first.0))) }
        }
        let onboarded = facts.milestones[CanonicalEvent.onboardingCompleted]?.first
        for change in facts.championChanges where onboarded.map({ change > $0 }) ?? false {
            steps.append((change, 4, .newChampion))
            let after = [CanonicalEvent.trainingCompleted, CanonicalEvent.onboardingCompleted, CanonicalEvent.kickoffCompleted]
                .compactMap { name in facts.milestones[name].map { (name, $0.last) } }
                .filter { $0.1 > change }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            if let done = after.first { steps.append((done.1, 5, .reonboarded(done.0))) }
        }
        steps.sort { ($0.at, $0.order) < ($1.at, $1.order) }

        var history: [StageVisit] = []
        var furthest: JourneyStage?
        var churned = false
        // After a new champion the account is back in onboarding; milestones still count, but the stage waits
        // for the re-onboarding (a training, onboarding or kickoff after the change).
        var reonboarding = false
        func enter(_ stage: JourneyStage, _ at: Date, _ reason: String) {
            guard history.last?.stage != stage else { return }
            if !history.isEmpty { history[history.count - 1].leftAt = at }
            history.append(StageVisit(stage: stage, enteredAt: at, reason: reason))
        }
        for (at, _, step) in steps {
            switch step {
            case .milestone(let name, let stage):
                guard !churned else { continue }
                if furthest.map({ stage.rank > $0.rank }) ?? true { furthest = stage }
                if !reonboarding, let furthest, history.last.map({ furthest.rank > $0.stage.rank }) ?? true {
                    enter(furthest, at, name)
                }
            case .newChampion:
                guard !churned else { continue }
                reonboarding = true
                enter(.onboarding, at, "new key contact: a new champion to onboard")
            case .reonboarded(let name):
                guard !churned, reonboarding, let furthest else { continue }
                reonboarding = false
                enter(furthest, at, "\(name) after the new key contact")
            case .churn:
                churned = true
                reonboarding = false
                enter(.churned, at, CanonicalEvent.contractChurned)
            case .winBack(let name):
                churned = false
                furthest = .retention
                enter(.retention, at, "\(name) after churn (win-back)")
            }
        }
        return history
    }

    /// An expansion brings new seats and usually a new team to onboard, beside the main stage, until a training
    /// after it.
    static func parallelTracks(_ facts: AccountFacts, stage: JourneyStage) -> [ParallelTrack] {
        guard stage != .churned, let expansion = facts.milestones[CanonicalEvent.expansionSigned]?.last else { return [] }
        if let training = facts.milestones[CanonicalEvent.trainingCompleted]?.last, training > expansion { return [] }
        return [ParallelTrack(name: "expansion-onboarding", stage: .onboarding, startedAt: expansion, reason: "new seats to onboard")]
    }

    static func milestoneStatuses(
        _ facts: AccountFacts, segment: String, now: Date, configuration: EngineConfiguration
    ) -> [MilestoneStatus] {
        guard let signed = facts.contractSignedAt else { return [] }
        return configuration.milestones.filter { $0.segments?.contains(segment) ?? true }.map { milestone in
            let dueAt = signed.addingTimeInterval(Double(milestone.dueDays) * 86_400)
            // Reached before the contract (usage during a trial, an early kickoff) counts as reached at signing.
            let reachedAt = facts.milestones[milestone.event].map { max($0.first, signed) }
            let status: MilestoneStatus.Status =
                if let reachedAt { reachedAt <= dueAt ? .reached : .reachedLate } else { now > dueAt ? .missed : .pending }
            return MilestoneStatus(name: milestone.name, dueAt: dueAt, reachedAt: reachedAt, status: status)
        }
    }
}

/// Band thresholds with hysteresis: a band is left only when the score passes its threshold by `margin`, so a
/// score hovering at a threshold does not flap.
public struct HealthBands: Sendable, Hashable {
    public var green: Int
    public var yellow: Int
    public var margin: Int

    public init(green: Int, yellow: Int, margin: Int) {
        self.green = green
        self.yellow = yellow
        self.margin = margin
    }

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
