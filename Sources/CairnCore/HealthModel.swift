public import Foundation

/// The health score: components from the facts, each 0–100 with its reason, weighted per segment. A component
/// without data (no NPS ever asked, no licence numbers) is left out and the others share its weight, so a
/// missing system does not read as bad health.
public enum HealthModel {
    public static func evaluate(
        _ facts: AccountFacts, stage: JourneyStage, context: JourneyEngine.Context, segment: Segment, now: Date,
        previous: HealthBand?, configuration: EngineConfiguration
    ) -> HealthScore {
        let parts: [(String, (score: Int, reason: String)?)] = [
            ("usage", usage(facts, context: context, now: now, configuration)),
            ("adoption", adoption(facts, now: now)),
            ("licenses", licenses(facts, context: context, now: now, configuration)),
            ("support", support(facts, now: now)),
            ("sentiment", sentiment(facts, now: now, configuration)),
            ("billing", billing(facts)),
            ("engagement", engagement(facts, now: now, configuration)),
            ("relationship", relationship(context.people, now: now, configuration)),
            ("maturity", maturity(facts, now: now, configuration)),
        ]
        let scored = parts.compactMap { name, part in
            part.map { (name: name, score: $0.score, reason: $0.reason, weight: segment.weights[name] ?? 0) }
        }
        let totalWeight = scored.map(\.weight).reduce(0, +)
        let score: Int
        if totalWeight > 0 {
            score = Int((scored.map { Double($0.score) * $0.weight }.reduce(0, +) / totalWeight).rounded())
        } else {
            score = 50
        }
        let components = scored.map {
            HealthComponent(
                name: $0.name, score: $0.score, weight: totalWeight > 0 ? ($0.weight / totalWeight * 1000).rounded() / 1000 : 0,
                reason: $0.reason)
        }
        let band = stage == .churned ? .red : configuration.bands.band(for: score, previous: previous)
        // The explanation leads with what pulls the score down most.
        let drags = components.filter { $0.weight > 0 && $0.score < 70 }
            .sorted { (Double(100 - $0.score) * $0.weight, $1.name) > (Double(100 - $1.score) * $1.weight, $0.name) }
        let explanation: String
        if stage == .churned {
            explanation = "Churned."
        } else if drags.isEmpty {
            explanation = "Healthy: every component is at 70 or above."
        } else {
            explanation = drags.prefix(3).map { "\($0.name.capitalized): \($0.reason)." }.joined(separator: " ")
        }
        return HealthScore(score: score, band: band, components: components, explanation: explanation, evaluatedAt: now)
    }

    static func days(_ interval: TimeInterval) -> Int { Int((interval / 86_400).rounded(.down)) }

    /// Persona-weighted usage against each persona's expectation; incident-driven personas (expecting 0 days)
    /// are not counted, so their silence costs nothing.
    static func usage(
        _ facts: AccountFacts, context: JourneyEngine.Context, now: Date, _ configuration: EngineConfiguration
    ) -> (Int, String)? {
        let window = configuration.thresholds.usageWindowDays
        let today = Timestamp.epochDay(now)
        let range = (today - window + 1)...today
        var weighted = 0.0
        var weights = 0.0
        var lagging: [String] = []
        // A key role someone held but nobody holds now (the champion left) is a seat with no usage at all.
        let held = Set(context.people.compactMap(\.role))
        let present = Set(context.people.filter(\.isPresent).compactMap(\.role))
        for role in held.subtracting(present).sorted() {
            guard let persona = configuration.personas[role], persona.expectedActiveDays > 0 else { continue }
            weights += persona.weight
            lagging.append("no \(role) since the last one left")
        }
        for person in context.people where person.isPresent {
            guard let role = person.role, let persona = configuration.personas[role], persona.expectedActiveDays > 0 else { continue }
            let active = person.activeDays.filter(range.contains).count
            let ratio = min(1, Double(active) / Double(persona.expectedActiveDays))
            weighted += ratio * persona.weight
            weights += persona.weight
            if ratio < 0.5 {
                let last = person.activeDays.max().map { "last active \(today - $0) days ago" } ?? "never active"
                lagging.append("\(role) \(person.userId) active \(active) of \(window) days (\(last))")
            }
        }
        if weights > 0 {
            let score = Int((weighted / weights * 100).rounded())
            let reason = lagging.isEmpty
                ? "admins and champions active as expected in the last \(window) days"
                : lagging.sorted().prefix(2).joined(separator: "; ")
            return (score, reason)
        }
        // No key people known: the account's own active days, against 8 of the window.
        guard facts.milestones[Milestone.firstUse] != nil || !context.activity.isEmpty else { return nil }
        let windowStart = Date(timeIntervalSince1970: Double(range.lowerBound) * 86_400)
        let activeDays = context.activity.filter { $0.events > 0 && $0.day >= windowStart && $0.day <= now }.count
        let expected = max(1, window * 4 / 7)
        return (min(100, activeDays * 100 / expected), "account active on \(activeDays) of the last \(window) days (\(expected) expected; no admin or champion known)")
    }

    /// Breadth: features used in the last 30 days, against five.
    static func adoption(_ facts: AccountFacts, now: Date) -> (Int, String)? {
        guard !facts.features.isEmpty else { return nil }
        let since = now.addingTimeInterval(-30 * 86_400)
        let used = facts.features.values.filter { $0 >= since && $0 <= now }.count
        return (min(100, used * 20), "\(used) features used in the last 30 days (5 expected)")
    }

    /// Licences assigned of purchased, and users active of assigned.
    static func licenses(
        _ facts: AccountFacts, context: JourneyEngine.Context, now: Date, _ configuration: EngineConfiguration
    ) -> (Int, String)? {
        guard let purchased = facts.licensesPurchased?.value, purchased > 0 else { return nil }
        let activeUsers = context.activeUsers(at: now)
        let assigned = facts.licensesAssigned?.value ?? activeUsers
        let utilisation = min(1.5, Double(assigned) / Double(purchased))
        let active = assigned > 0 ? min(1, Double(activeUsers) / Double(assigned)) : 0
        let assignedScore = min(1, utilisation / 0.8)
        let score = Int(((assignedScore * 0.6 + active * 0.4) * 100).rounded())
        return (score, "\(assigned) of \(purchased) licences assigned (\(Int((utilisation * 100).rounded()))%), \(activeUsers) users active in 30 days")
    }

    static func support(_ facts: AccountFacts, now: Date) -> (Int, String)? {
        let open = facts.tickets.values.filter { $0.isOpen && $0.openedAt.map { $0 <= now } ?? true }
        let penalty = open.map { ticket -> Int in
            switch ticket.priority?.lowercased() {
            case "urgent", "critical", "p1": 30
            case "high", "p2": 20
            case "low", "p4": 5
            default: 10
            }
        }.reduce(0, +)
        let since = now.addingTimeInterval(-30 * 86_400)
        let escalations = facts.tickets.values.filter { ($0.escalatedAt ?? .distantPast) >= since }.count
        let score = max(0, 100 - penalty - 25 * escalations)
        if open.isEmpty && escalations == 0 { return (100, "no open tickets") }
        return (score, "\(open.count) open tickets, \(escalations) escalated in the last 30 days")
    }

    static func sentiment(_ facts: AccountFacts, now: Date, _ configuration: EngineConfiguration) -> (Int, String)? {
        guard let nps = facts.nps, now.timeIntervalSince(nps.at) < 365 * 86_400 else { return nil }
        let score = switch nps.value {
        case 9...: 100
        case 7...8: 70
        default: max(0, nps.value * 5)
        }
        let kind = nps.value >= 9 ? "promoter" : nps.value > configuration.thresholds.npsDetractorMax ? "passive" : "detractor"
        return (score, "latest NPS \(nps.value) (\(kind)), \(days(now.timeIntervalSince(nps.at))) days ago")
    }

    static func billing(_ facts: AccountFacts) -> (Int, String)? {
        guard !facts.invoices.isEmpty else { return nil }
        let overdue = facts.invoices.values.filter(\.isOverdue)
        guard let worst = overdue.map(\.daysOverdue).max() else { return (100, "no overdue invoice") }
        let score = worst >= 60 ? 0 : worst >= 30 ? 20 : 50
        return (score, "\(overdue.count) invoice\(overdue.count == 1 ? "" : "s") overdue, up to \(worst) days")
    }

    static func engagement(_ facts: AccountFacts, now: Date, _ configuration: EngineConfiguration) -> (Int, String)? {
        let window = Double(configuration.thresholds.engagementWindowDays) * 86_400
        let last = [facts.lastTouchpoint, facts.lastTraining].compactMap { $0 }.filter { $0 <= now }.max()
        guard let last else {
            // A young account has not had the time to be engaged yet.
            guard let signed = facts.contractSignedAt, now.timeIntervalSince(signed) > window else { return nil }
            return (0, "no touchpoint or training since the contract")
        }
        let age = now.timeIntervalSince(last)
        let score = age <= window ? 100 : age <= 2 * window ? 50 : 0
        return (score, "last touchpoint or training \(days(age)) days ago")
    }

    /// A champion and a sponsor present, and the champion active.
    static func relationship(_ people: [Person], now: Date, _ configuration: EngineConfiguration) -> (Int, String)? {
        guard !people.isEmpty else { return nil }
        let present = people.filter(\.isPresent)
        let champions = present.filter { $0.role == "champion" }
        let sponsors = present.filter { $0.role == "sponsor" }
        let today = Timestamp.epochDay(now)
        let window = configuration.thresholds.usageWindowDays
        let championActive = champions.contains { $0.activeDays.contains { $0 > today - window && $0 <= today } }
        var score = 0
        var notes: [String] = []
        if champions.isEmpty { notes.append("no champion") } else { score += 50 }
        if championActive { score += 20 } else if !champions.isEmpty { notes.append("champion inactive for \(window) days") }
        if sponsors.isEmpty { notes.append("no executive sponsor") } else { score += 30 }
        return (score, notes.isEmpty ? "champion active and sponsor in place" : notes.joined(separator: ", "))
    }

    /// Around each multi-year anniversary teams change: expect a goals review (a touchpoint or training) near it.
    static func maturity(_ facts: AccountFacts, now: Date, _ configuration: EngineConfiguration) -> (Int, String)? {
        guard let signed = facts.contractSignedAt, now > signed else { return nil }
        let year = 365.25 * 86_400
        let tenure = now.timeIntervalSince(signed) / year
        let cycle = Double(configuration.thresholds.maturityYears)
        let nearest = (tenure / cycle).rounded() * cycle
        let half = Double(configuration.thresholds.maturityWindowDays) / 2 * 86_400
        guard nearest >= cycle, abs(now.timeIntervalSince(signed) - nearest * year) <= half else {
            return (100, String(format: "tenure %.1f years", tenure))
        }
        let anniversary = signed.addingTimeInterval(nearest * year)
        let reviewed = [facts.lastTouchpoint, facts.lastTraining].compactMap { $0 }
            .contains { abs($0.timeIntervalSince(anniversary)) <= half && $0 <= now }
        return reviewed
            ? (100, "\(Int(nearest))-year anniversary, goals reviewed")
            : (40, "\(Int(nearest))-year anniversary: expect team change; refresher training and goals review due")
    }
}

extension HealthScore {
    /// The reasons of the components below 70, weakest first.
    public var reasons: [String] {
        components.filter { $0.score < 70 && $0.weight > 0 }.sorted { ($0.score, $0.name) < ($1.score, $1.name) }
            .map { "\($0.name): \($0.reason)" }
    }
}
