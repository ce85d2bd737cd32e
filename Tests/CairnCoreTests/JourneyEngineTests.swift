import CairnCore
import Foundation
import Testing

/// Plays events through the engine the way a worker does: batch by batch, each evaluated at the account's latest
/// event time, with the people and usage a store would have rolled up from every event applied so far.
struct EngineHarness {
    var state: AccountState
    var seen: [String: AccountEvent] = [:]
    var configuration = EngineConfiguration.standard

    init(accountId: String = "acme") {
        state = AccountState(accountId: accountId)
    }

    /// Applies one batch; returns the signals it raised.
    @discardableResult
    mutating func apply(_ batch: [AccountEvent], now: Date? = nil) -> [Signal] {
        var fresh: [String: AccountEvent] = [:]
        for event in batch where seen[event.messageId] == nil { fresh[event.messageId] = event }
        let clock = ([now, state.lastEventAt].compactMap { $0 } + fresh.values.map(\.timestamp)).max()!
        // The rollups as the store holds them before the batch; the engine folds the batch in.
        let before = context()
        seen.merge(fresh) { old, _ in old }
        let outcome = JourneyEngine.apply(
            fresh.values.sorted { ($0.timestamp, $0.messageId) < ($1.timestamp, $1.messageId) }, to: state,
            context: before, now: clock, configuration: configuration)
        state = outcome.state
        return outcome.signals
    }

    /// Time passes without events (the sweep).
    @discardableResult
    mutating func reevaluate(at now: Date) -> [Signal] {
        let outcome = JourneyEngine.reevaluate(state, context: context(), now: now, configuration: configuration)
        state = outcome.state
        return outcome.signals
    }

    /// The rollups the store keeps of the events seen so far: usage per day, people with persona, leave time and
    /// active days, and each user's last-seen time.
    func context() -> JourneyEngine.Context {
        var days: [Date: Int] = [:]
        var people: [String: Person] = [:]
        var lastSeen: [String: Date] = [:]
        for event in seen.values {
            if configuration.isProductUsage(event) { days[Timestamp.day(of: event.timestamp), default: 0] += 1 }
            guard let user = event.userId else { continue }
            lastSeen[user] = max(lastSeen[user] ?? event.timestamp, event.timestamp)
            people[user, default: Person(userId: user, role: nil)].merge(event, configuration: configuration)
        }
        let everyone = people.values.sorted { $0.userId < $1.userId }
        return JourneyEngine.Context(
            activity: days.map { ActivityDay(day: $0.key, events: $0.value) }.sorted { $0.day < $1.day },
            people: everyone.filter(\.isKey), lastSeen: lastSeen, others: everyone.filter { !$0.isKey })
    }
}

/// Builds the events of a story.
struct Story {
    let start = Timestamp.parse("2026-01-05T09:00:00Z")!
    var account = "acme"
    var counter = 0

    func at(_ day: Double) -> Date { start.addingTimeInterval(day * 86_400) }

    mutating func track(_ name: String, day: Double, user: String? = nil, _ properties: [String: JSONValue] = [:]) -> AccountEvent {
        counter += 1
        return AccountEvent(
            messageId: "\(account)-\(counter)", type: .track, event: name, accountId: account, userId: user, timestamp: at(day),
            properties: properties)
    }

    mutating func identify(_ user: String, role: String, day: Double) -> AccountEvent {
        counter += 1
        return AccountEvent(
            messageId: "\(account)-\(counter)", type: .identify, accountId: account, userId: user, timestamp: at(day),
            traits: ["role": .string(role)])
    }

    /// A person using the product on each of `days`.
    mutating func usage(_ user: String, days: some Sequence<Int>, feature: String = "Report Exported") -> [AccountEvent] {
        days.map { track(feature, day: Double($0) + 0.3, user: user) }
    }
}

@Suite("Journey stories")
struct JourneyStoryTests {
    @Test("An SMB account that self-onboards in 10 days reaches adoption, with its time to value")
    func smbSelfOnboards() {
        var story = Story()
        var harness = EngineHarness()
        var events = [
            story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 9_000, "seats": 10, "plan": "starter"]),
            story.identify("ann", role: "admin", day: 0),
            story.track(CanonicalEvent.welcomeSent, day: 0.5),
        ]
        events += story.usage("ann", days: 2...10)
        events.append(story.track(CanonicalEvent.onboardingCompleted, day: 10))
        let signals = harness.apply(events)

        #expect(harness.state.segment == "smb")
        #expect(harness.state.stage == .adoption)
        #expect(harness.state.stageHistory.map(\.stage) == [.purchase, .onboarding, .adoption])
        #expect(harness.state.stageHistory.last?.enteredAt == story.at(10))
        #expect(harness.state.stageHistory.first?.leftAt == story.at(0.5))
        #expect(harness.state.timeToValueDays == 2.3)
        #expect(harness.state.milestones.first { $0.name == "onboarding_done" }?.status == .reached)
        #expect(harness.state.milestones.first { $0.name == "kickoff" }?.status == .missed)
        #expect(signals.filter { $0.kind == SignalKind.stageEntered }.compactMap { $0.data["stage"]?.stringValue }
            == ["purchase", "onboarding", "adoption"])
        #expect(signals.contains { $0.kind == SignalKind.milestoneReached && $0.data["milestone"] == "first_value" })
        // Kickoff never happened: by day 10 its SLA (7 days) was missed; raised once.
        #expect(signals.filter { $0.kind == SignalKind.milestoneMissed }.map { $0.data["milestone"] } == ["kickoff"])
        #expect(harness.reevaluate(at: story.at(13)).allSatisfy { $0.kind != SignalKind.milestoneMissed })
    }

    /// A healthy enterprise account: admin and champion active, a sponsor, recent touchpoint, good NPS.
    func healthyEnterprise(_ story: inout Story, until day: Int) -> [AccountEvent] {
        var events = [
            story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 400_000, "renewalDate": "2027-01-05T00:00:00Z"]),
            story.track(CanonicalEvent.csmAssigned, day: 0, ["csmId": "dana"]),
            story.identify("ada", role: "admin", day: 0), story.identify("cho", role: "champion", day: 0),
            story.identify("spo", role: "sponsor", day: 0),
            story.track(CanonicalEvent.kickoffCompleted, day: 5), story.track(CanonicalEvent.onboardingCompleted, day: 60),
            story.track(CanonicalEvent.npsSubmitted, day: 70, ["score": 9]),
        ]
        events += story.usage("ada", days: stride(from: 1, through: day, by: 1))
        events += story.usage("cho", days: stride(from: 1, through: day, by: 1), feature: "Dashboard Viewed")
        for feature in ["Alert Created", "Export Scheduled", "Workflow Built"] {
            events += story.usage("ada", days: [day - 3], feature: feature)
        }
        events.append(story.track(CanonicalEvent.touchpointLogged, day: Double(day - 10)))
        return events
    }

    @Test("An enterprise champion leaves: health turns yellow for that reason, a signal is raised, and the new champion takes the account back to onboarding")
    func enterpriseChampionLeaves() {
        var story = Story()
        var harness = EngineHarness()
        harness.apply(healthyEnterprise(&story, until: 100))
        #expect(harness.state.segment == "enterprise")
        #expect(harness.state.stage == .adoption)
        #expect(harness.state.health?.band == .green, "\(harness.state.health!)")

        // The champion leaves on day 101 and stops using the product; two weeks later:
        var events = [story.track(CanonicalEvent.contactLeft, day: 101, user: "cho")]
        events += story.usage("ada", days: 101...115)
        var signals = harness.apply(events)
        #expect(signals.contains { $0.kind == SignalKind.championLeft && $0.data["userId"] == "cho" })
        #expect(harness.state.health?.band == .yellow, "\(harness.state.health!.score) \(harness.state.health!.components)")
        #expect(signals.contains { $0.kind == SignalKind.healthBandChanged && $0.data["to"] == "yellow" })
        #expect(harness.state.health?.explanation.contains("no champion") == true, "\(harness.state.health!.explanation)")

        // A new champion is named: back to onboarding until they are trained.
        signals = harness.apply([story.track(CanonicalEvent.contactRoleChanged, day: 116, user: "neo", ["role": "champion"])])
        #expect(harness.state.stage == .onboarding)
        #expect(harness.state.stageHistory.last?.reason.hasPrefix("new key contact") == true)
        #expect(signals.contains { $0.kind == SignalKind.stageEntered && $0.data["stage"] == "onboarding" })
        #expect(signals.contains { $0.kind == SignalKind.contactRoleChanged && $0.data["role"] == "champion" })
        harness.apply([story.track(CanonicalEvent.trainingCompleted, day: 125)])
        #expect(harness.state.stage == .adoption)
        #expect(harness.state.stageHistory.map(\.stage) == [.purchase, .kickoff, .adoption, .onboarding, .adoption])
    }

    @Test("An admin who stops logging in for 21 days pulls the score down, and the explanation names them")
    func adminGoesSilent() {
        var story = Story()
        var harness = EngineHarness()
        var events = [
            story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 60_000]),
            story.identify("ada", role: "admin", day: 0),
        ]
        events += story.usage("ada", days: 1...40)
        harness.apply(events)
        let before = harness.state.health!
        #expect(before.components.first { $0.name == "usage" }?.score == 100)

        harness.apply([story.track(CanonicalEvent.touchpointLogged, day: 61)])  // 21 days of silence
        let after = harness.state.health!
        #expect(after.score < before.score - 15, "\(before.score) → \(after.score)")
        let usage = after.components.first { $0.name == "usage" }
        #expect(usage?.score == 0)
        #expect(usage?.reason == "admin ada active 0 of 14 days (last active 21 days ago)")
        #expect(after.explanation.hasPrefix("Usage: admin ada active 0 of 14 days"), "\(after.explanation)")
    }

    @Test("An end user silent with no incidents costs nothing; the same silence from an admin does")
    func endUserSilenceIsNotPenalised() {
        func score(silentRole: String) -> Int {
            var story = Story()
            var harness = EngineHarness()
            var events = [
                story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 60_000]),
                story.identify("ada", role: "admin", day: 0), story.identify("eve", role: silentRole, day: 0),
            ]
            events += story.usage("ada", days: 1...40)
            events += story.usage("eve", days: [2])
            harness.apply(events)
            return harness.state.health!.components.first { $0.name == "usage" }!.score
        }
        #expect(score(silentRole: "end_user") == 100)
        #expect(score(silentRole: "admin") == 50)
    }

    @Test("Licence use at 95% raises the upsell signal once; low use after onboarding raises license.underused")
    func licenceUtilisation() {
        var story = Story()
        var harness = EngineHarness()
        var signals = harness.apply([
            story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 60_000, "seats": 100]),
            story.track(CanonicalEvent.licenseUpdated, day: 30, ["purchased": 100, "assigned": 95]),
        ])
        let upsell = signals.filter { $0.kind == SignalKind.licenseUtilizationHigh }
        #expect(upsell.count == 1)
        #expect(upsell.first?.data["utilization"] == .number(0.95))
        signals = harness.apply([story.track(CanonicalEvent.licenseUpdated, day: 31, ["purchased": 100, "assigned": 96])])
        #expect(!signals.contains { $0.kind == SignalKind.licenseUtilizationHigh })

        var low = EngineHarness(accountId: "acme")
        var lowStory = Story()
        signals = low.apply([
            lowStory.track(CanonicalEvent.contractSigned, day: 0, ["seats": 100]),
            lowStory.track(CanonicalEvent.onboardingCompleted, day: 40),
            lowStory.track(CanonicalEvent.licenseUpdated, day: 50, ["purchased": 100, "assigned": 30]),
        ])
        #expect(signals.contains { $0.kind == SignalKind.licenseUnderused })
    }

    @Test("The third anniversary raises the maturity signal and asks for a goals review until one happens")
    func thirdAnniversary() {
        var story = Story()
        var harness = EngineHarness()
        harness.apply([story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 200_000])])
        #expect(harness.reevaluate(at: story.at(3 * 365 - 40)).allSatisfy { $0.kind != SignalKind.maturityAnniversary })
        let signals = harness.reevaluate(at: story.at(3 * 365 + 2))
        #expect(signals.filter { $0.kind == SignalKind.maturityAnniversary }.map { $0.data["years"] } == [.number(3)])
        #expect(harness.state.health?.components.first { $0.name == "maturity" }?.score == 40)
        harness.apply([story.track(CanonicalEvent.touchpointLogged, day: 3 * 365 + 5, ["channel": "qbr"])])
        #expect(harness.state.health?.components.first { $0.name == "maturity" }?.score == 100)
    }

    @Test("Renewal windows open at 120, 90 and 60 days, each once; a detractor NPS and an overdue invoice raise theirs")
    func renewalWindowsAndBusinessSignals() {
        var story = Story()
        var harness = EngineHarness()
        var signals = harness.apply([
            story.track(CanonicalEvent.contractSigned, day: 0, ["renewalDate": "2026-12-31T00:00:00Z"]),
            story.track(CanonicalEvent.npsSubmitted, day: 200, user: "u1", ["score": 3]),
            story.track(CanonicalEvent.invoiceOverdue, day: 220, ["invoiceId": "inv-7", "daysOverdue": 12]),
        ])
        #expect(signals.contains { $0.kind == SignalKind.npsDetractor })
        #expect(signals.contains { $0.kind == SignalKind.invoiceOverdue })
        #expect(harness.state.health?.components.first { $0.name == "billing" }?.score == 50)
        // 2026-12-31 minus 120 days is 2026-09-02; day 245 is 2026-09-07.
        signals = harness.reevaluate(at: story.at(245))
        #expect(signals.filter { $0.kind == SignalKind.renewalWindowOpened }.map { $0.data["days"] } == [.number(120)])
        signals = harness.reevaluate(at: story.at(310))
        #expect(signals.filter { $0.kind == SignalKind.renewalWindowOpened }.map { $0.data["days"] } == [.number(90), .number(60)])
        harness.apply([story.track(CanonicalEvent.invoicePaid, day: 311, ["invoiceId": "inv-7"])])
        #expect(harness.state.health?.components.first { $0.name == "billing" }?.score == 100)
    }

    @Test("A churn ends the journey unless a renewal is signed after it")
    func churnAndWinBack() {
        var story = Story()
        var harness = EngineHarness()
        harness.apply([story.track(CanonicalEvent.contractSigned, day: 0), story.track(CanonicalEvent.contractChurned, day: 300)])
        #expect(harness.state.stage == .churned)
        #expect(harness.state.health?.band == .red)
        #expect(!harness.state.atRisk)
        harness.apply([story.track(CanonicalEvent.renewalSigned, day: 400)])
        #expect(harness.state.stage == .retention)
        #expect(harness.state.stageHistory.map(\.stage) == [.purchase, .churned, .retention])
    }

    @Test("Each signal carries the stage the account was in at its time and the band the engine had just found")
    func signalsCarryStageAndBand() throws {
        var story = Story()
        var harness = EngineHarness()
        // Kickoff, onboarding and first use arrive in one batch: each stage.entered carries its own stage, and the
        // milestone reached at kickoff carries kickoff, though the account is in adoption once the batch is applied.
        let events = [
            story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 20_000, "seats": 10]),
            story.track(CanonicalEvent.kickoffCompleted, day: 2),
            story.track(CanonicalEvent.onboardingCompleted, day: 8),
        ] + story.usage("u1", days: 9...12)
        let signals = harness.apply(events)
        let entered = signals.filter { $0.kind == SignalKind.stageEntered }
        #expect(!entered.isEmpty)
        for signal in entered {
            #expect(signal.stage?.rawValue == signal.data["stage"]?.stringValue)
        }
        let kickoff = try #require(signals.first { $0.kind == SignalKind.milestoneReached && $0.data["milestone"] == "kickoff" })
        #expect(kickoff.stage == .kickoff)
        #expect(harness.state.stage != .kickoff)
        // The band is the one found right after the event that revealed the signal, as one event at a time finds it.
        var single = EngineHarness()
        var bands: [String: HealthBand?] = [:]
        for event in events {
            for signal in single.apply([event]) { bands[signal.signalId] = single.state.health?.band }
        }
        #expect(Set(bands.values).count > 1, "the band changes along the way: \(bands)")
        for signal in signals { #expect(bands[signal.signalId] == .some(signal.band), "\(signal.signalId)") }
    }

    @Test("A signal is raised when the first event that reveals it arrived, however the events were batched; history sent late is stale")
    func raisedAtArrival() throws {
        func events(receivedOn day: Double?) -> [AccountEvent] {
            var story = Story()
            // Kickoff (due by day 7) never happens; the account is next heard of on day 10, then on day 50.
            return [
                story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 20_000, "seats": 10]),
                story.track("Report Exported", day: 10, user: "u1"),
                story.track("Report Exported", day: 50, user: "u1"),
            ].map { event in
                var event = event
                event.receivedAt = day.map(Story().at) ?? event.timestamp
                return event
            }
        }
        func missedKickoff(_ batches: [[AccountEvent]]) throws -> Signal {
            var harness = EngineHarness()
            let signals = batches.flatMap { harness.apply($0) }
            return try #require(signals.first { $0.kind == SignalKind.milestoneMissed && $0.data["milestone"] == "kickoff" })
        }
        let story = Story()
        let live = events(receivedOn: nil)
        // Found at the day-10 event, whether that event ended a batch or not.
        #expect(try missedKickoff([live]).raisedAt == story.at(10))
        #expect(try missedKickoff([[live[0]], [live[1]], [live[2]]]).raisedAt == story.at(10))
        #expect(try missedKickoff([[live[0]], Array(live[1...])]).raisedAt == story.at(10))
        let signal = try missedKickoff([live])
        #expect(!Escalation.plan(for: signal, account: AccountContext(accountId: "acme"), now: story.at(50)).tasks.isEmpty)

        // The same history sent on day 400 (a backfill): found then, so it starts nothing.
        let backfill = try missedKickoff([events(receivedOn: 400)])
        #expect(backfill.raisedAt == story.at(400))
        #expect(Escalation.plan(for: backfill, account: AccountContext(accountId: "acme"), now: story.at(400)) == EscalationPlan())

        // Without arrival times the evaluation time is all the engine has: the batch's last event.
        var unknown = live
        for index in unknown.indices { unknown[index].receivedAt = nil }
        #expect(try missedKickoff([unknown]).raisedAt == story.at(50))
    }

    @Test("Segments follow the account's attributes, first matching rule first")
    func segments() {
        let configuration = EngineConfiguration.standard
        #expect(configuration.segment(for: SegmentAttributes(arr: 2_000_000)).name == "enterprise")
        #expect(configuration.segment(for: SegmentAttributes(arr: 50_000)).name == "mid-market")
        #expect(configuration.segment(for: SegmentAttributes(arr: 5_000)).name == "smb")
        #expect(configuration.segment(for: SegmentAttributes()).name == "smb")
    }

    @Test("Bands do not flap while a score hovers at a threshold", arguments: [
        (HealthBand.green, 67, HealthBand.green), (.green, 64, .yellow), (.yellow, 72, .yellow), (.yellow, 75, .green),
        (.yellow, 37, .yellow), (.yellow, 34, .red), (.red, 42, .red), (.red, 45, .yellow), (.red, 80, .green),
    ])
    func hysteresis(previous: HealthBand, score: Int, expected: HealthBand) {
        #expect(HealthBands.standard.band(for: score, previous: previous) == expected)
    }
}

@Suite("Journey engine properties")
struct JourneyPropertyTests {
    /// Signal kinds raised from one event, or from a condition that only grows with more facts and time: every
    /// order raises exactly the same ones.
    static let monotoneKinds: Set<String> = [
        SignalKind.contactRoleChanged, SignalKind.npsDetractor, SignalKind.invoiceOverdue, SignalKind.ticketEscalated,
        SignalKind.milestoneReached, SignalKind.renewalWindowOpened, SignalKind.maturityAnniversary,
    ]

    /// The stage, milestone-missed and champion-left signals the final facts call for: every order raises all of
    /// them. (An order that delivers an early fact very late can also raise one for a state the early fact then
    /// rules out, such as a stage entered on partial facts; the final state is the same.)
    static func required(by state: AccountState) -> Set<String> {
        let id = state.accountId
        var ids = Set(state.stageHistory.map { "\(SignalKind.stageEntered)/\(id)/\($0.stage.rawValue)/\(Timestamp.format($0.enteredAt))" })
        for milestone in state.milestones where milestone.status == .missed || milestone.status == .reachedLate {
            ids.insert("\(SignalKind.milestoneMissed)/\(id)/\(milestone.name)")
        }
        return ids
    }

    /// A random but plausible stream for one account.
    static func stream<R: RandomNumberGenerator>(_ random: inout R) -> [AccountEvent] {
        var story = Story()
        var events = [story.track(CanonicalEvent.contractSigned, day: 0, ["arr": .number(Double(Int.random(in: 5...500, using: &random)) * 1000),
                                                                            "renewalDate": "2027-01-05T00:00:00Z", "seats": 50])]
        let users = ["a", "b", "c", "d"]
        for user in users {
            events.append(story.identify(user, role: ["admin", "champion", "sponsor", "end_user"].randomElement(using: &random)!,
                                         day: Double.random(in: 0...30, using: &random)))
        }
        let business = [
            CanonicalEvent.kickoffCompleted, CanonicalEvent.welcomeSent, CanonicalEvent.onboardingCompleted,
            CanonicalEvent.trainingCompleted, CanonicalEvent.touchpointLogged, CanonicalEvent.ticketOpened,
            CanonicalEvent.ticketEscalated, CanonicalEvent.ticketClosed, CanonicalEvent.npsSubmitted, CanonicalEvent.invoiceOverdue,
            CanonicalEvent.invoicePaid, CanonicalEvent.licenseUpdated, CanonicalEvent.contactRoleChanged, CanonicalEvent.contactLeft,
            CanonicalEvent.expansionSigned, CanonicalEvent.renewalSigned, CanonicalEvent.csmAssigned,
        ]
        for _ in 0..<Int.random(in: 20...60, using: &random) {
            let day = Double(Int.random(in: 0...400, using: &random)) + Double.random(in: 0..<1, using: &random)
            let user = users.randomElement(using: &random)!
            if Bool.random(using: &random) {
                events.append(story.track(["Report Exported", "Dashboard Viewed", "Alert Created"].randomElement(using: &random)!, day: day, user: user))
                continue
            }
            let name = business.randomElement(using: &random)!
            let properties: [String: JSONValue] = [
                "ticketId": .string("t\(Int.random(in: 1...3, using: &random))"), "priority": "high",
                "score": .number(Double(Int.random(in: 0...10, using: &random))), "invoiceId": "i1", "daysOverdue": 20,
                "purchased": 50, "assigned": .number(Double(Int.random(in: 10...50, using: &random))),
                "role": .string(["champion", "admin"].randomElement(using: &random)!), "csmId": .string(user), "seats": 60,
            ]
            events.append(story.track(name, day: day, user: user, properties))
        }
        return events
    }

    @Test("Any permutation of a stream, with duplicates, in any batches, gives the same final state and the same fact signals", arguments: 0..<40)
    func permutationsAgree(seed: Int) {
        var random = SplitMix(seed: UInt64(seed))
        let events = Self.stream(&random)
        let end = events.map(\.timestamp).max()!

        var ordered = EngineHarness()
        var orderedSignals: [Signal] = []
        for event in events.sorted(by: { ($0.timestamp, $0.messageId) < ($1.timestamp, $1.messageId) }) {
            orderedSignals += ordered.apply([event])
        }
        orderedSignals += ordered.reevaluate(at: end)

        for _ in 0..<5 {
            var shuffled = (events + events.filter { _ in Int.random(in: 0..<4, using: &random) == 0 }).shuffled(using: &random)
            var harness = EngineHarness()
            var signals: [Signal] = []
            while !shuffled.isEmpty {
                let size = Int.random(in: 1...max(1, shuffled.count / 3), using: &random)
                signals += harness.apply(Array(shuffled.prefix(size)))
                shuffled.removeFirst(min(size, shuffled.count))
            }
            signals += harness.reevaluate(at: end)

            #expect(harness.state.facts.milestones == ordered.state.facts.milestones)
            #expect(harness.state.facts.tickets == ordered.state.facts.tickets)
            #expect(harness.state.facts.licensesAssigned == ordered.state.facts.licensesAssigned)
            #expect(harness.state.facts.nps == ordered.state.facts.nps)
            #expect(harness.state.csmId == ordered.state.csmId)
            #expect(harness.state.stageHistory == ordered.state.stageHistory)
            #expect(harness.state.milestones == ordered.state.milestones)
            #expect(harness.state.segment == ordered.state.segment)
            #expect(harness.state.health?.score == ordered.state.health?.score)
            #expect(harness.state.health?.components == ordered.state.health?.components)
            #expect(harness.state.eventCount == ordered.state.eventCount)
            let kinds = Self.monotoneKinds
            #expect(Set(signals.filter { kinds.contains($0.kind) }.map(\.signalId))
                == Set(orderedSignals.filter { kinds.contains($0.kind) }.map(\.signalId)))
            let required = Self.required(by: ordered.state)
            #expect(required.isSubset(of: Set(signals.map(\.signalId))), "\(required.subtracting(signals.map(\.signalId)))")
            #expect(required.isSubset(of: Set(orderedSignals.map(\.signalId))))
            // Each signal at most once per account.
            #expect(Set(signals.map(\.signalId)).count == signals.count)
        }
    }
}

extension JourneyPropertyTests {
    /// `events` in time order, each received as it happened.
    static func inOrder(_ events: [AccountEvent]) -> [AccountEvent] {
        events.sorted { ($0.timestamp, $0.messageId) < ($1.timestamp, $1.messageId) }.map { event in
            var event = event
            event.receivedAt = event.timestamp
            return event
        }
    }

    /// `events` applied one at a time; the signals raised, by id.
    static func oneByOne(_ events: [AccountEvent]) -> (EngineHarness, [String: Signal]) {
        var harness = EngineHarness()
        var signals: [String: Signal] = [:]
        for event in events {
            for signal in harness.apply([event]) { signals[signal.signalId] = signal }
        }
        return (harness, signals)
    }

    @Test("Events in order, received as they happen, in any batches: the same signals, health ones included, each with the same time, raisedAt, stage and band", arguments: 0..<300)
    func raisedAtDoesNotDependOnBatching(seed: Int) {
        var random = SplitMix(seed: UInt64(seed))
        let events = Self.inOrder(Self.stream(&random))
        let (single, reference) = Self.oneByOne(events)
        var batched = EngineHarness()
        var rest = events[...]
        var compared = 0
        while !rest.isEmpty {
            let size = Int.random(in: 1...max(1, rest.count / 3), using: &random)
            for signal in batched.apply(Array(rest.prefix(size))) {
                guard let theirs = reference[signal.signalId] else { continue }
                #expect(signal == theirs, "\(signal.signalId)")
                compared += 1
            }
            rest = rest.dropFirst(size)
        }
        #expect(compared > 0)
        let mine = Set(batched.state.facts.raised.keys)
        let theirs = Set(single.state.facts.raised.keys)
        #expect(mine == theirs, "only batched: \(mine.subtracting(theirs)), only single: \(theirs.subtracting(mine))")
        #expect(batched.state.health == single.state.health)
        #expect(batched.state.facts.scoreByDay == single.state.facts.scoreByDay)
    }
}

extension JourneyPropertyTests {
    @Test("A quiet account is evaluated at each quiet midnight once, whether sweeps got there first or its next event did", arguments: 0..<200)
    func quietMidnightsDoNotDependOnSweeps(seed: Int) {
        var random = SplitMix(seed: UInt64(seed))
        let events = Self.inOrder(Self.stream(&random))
        // Without sweeps: each event catches up the midnights of the silence before it.
        let (unswept, reference) = Self.oneByOne(events)
        // With sweeps at some of the midnights (any sweep, more than once, at any of them), as escalators would.
        var swept = EngineHarness()
        var signals: [String: Signal] = [:]
        var sweeps = 0
        for event in events {
            if let last = swept.state.lastEventAt {
                var midnight = Timestamp.day(of: last).addingTimeInterval(86_400)
                while midnight < event.timestamp {
                    if Int.random(in: 0..<3, using: &random) > 0, JourneyEngine.isQuiet(swept.state, at: midnight) {
                        for signal in swept.reevaluate(at: midnight) { signals[signal.signalId] = signal }
                        sweeps += 1
                        #expect(!JourneyEngine.isQuiet(swept.state, at: midnight), "a midnight is swept once")
                    }
                    midnight.addTimeInterval(86_400)
                }
            }
            for signal in swept.apply([event]) { signals[signal.signalId] = signal }
        }
        // The same signals at the same times with the same stage and band; a sweep finds them at the midnight, an
        // event when it arrives, so only `raisedAt` may differ.
        #expect(Set(signals.keys) == Set(reference.keys),
                "only swept: \(Set(signals.keys).subtracting(reference.keys)), only unswept: \(Set(reference.keys).subtracting(signals.keys))")
        for (id, signal) in signals {
            guard var theirs = reference[id] else { continue }
            theirs.raisedAt = signal.raisedAt
            #expect(signal == theirs, "\(id)")
        }
        #expect(swept.state.health == unswept.state.health)
        #expect(swept.state.facts.scoreByDay == unswept.state.facts.scoreByDay)
        #expect(swept.state.stageHistory == unswept.state.stageHistory)
        if seed == 0 { #expect(sweeps > 0, "the stream has quiet midnights to sweep") }
    }

    @Test("The quiet midnights: a day after the last event, after the last evaluation, before the event; at most a year of them")
    func quietMidnights() throws {
        var story = Story()
        var harness = EngineHarness()
        harness.apply([story.track(CanonicalEvent.contractSigned, day: 0, ["arr": 50_000])])  // 2026-01-05T09:00Z
        let state = harness.state
        func midnights(before day: Double) -> [String] {
            JourneyEngine.quietMidnights(of: state, before: story.at(day)).map(Timestamp.format)
        }
        #expect(midnights(before: 1.5).isEmpty, "not quiet for a day before 2026-01-06T09:00Z")
        #expect(midnights(before: 2) == ["2026-01-07T00:00:00.000Z"])
        #expect(midnights(before: 4) == ["2026-01-07T00:00:00.000Z", "2026-01-08T00:00:00.000Z", "2026-01-09T00:00:00.000Z"])
        #expect(JourneyEngine.isQuiet(state, at: Timestamp.parse("2026-01-07T00:00:00Z")!))
        #expect(!JourneyEngine.isQuiet(state, at: Timestamp.parse("2026-01-06T00:00:00Z")!), "9 h after the event")
        var swept = harness
        swept.reevaluate(at: Timestamp.parse("2026-01-08T00:00:00Z")!)
        #expect(JourneyEngine.quietMidnights(of: swept.state, before: story.at(4)).map(Timestamp.format) == ["2026-01-09T00:00:00.000Z"],
                "the sweep evaluated the 7th and the 8th")
        #expect(swept.state.facts.scoreByDay.count == 3, "the contract's day, the 7th and the 8th")
        let far = story.track("Report Exported", day: 2_000_000, user: "ada")
        #expect(JourneyEngine.quietMidnights(of: state, before: far.timestamp).count == JourneyEngine.maxQuietMidnights)
        let outcome = JourneyEngine.apply([far], to: state, context: harness.context(), now: far.timestamp)
        #expect(outcome.healthDays.count == JourneyEngine.maxQuietMidnights + 1, "a year of quiet days, then the event's")
    }
}

/// A small seeded generator, so a failing case can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
