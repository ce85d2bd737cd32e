import CairnCore
import Foundation
import Testing

@Suite("Journey engine")
struct JourneyEngineTests {
    let day0 = Timestamp.parse("2026-06-01T09:00:00Z")!

    func track(_ name: String, day: Double, id: String? = nil, properties: [String: JSONValue] = [:]) -> AccountEvent {
        AccountEvent(
            messageId: id ?? "\(name)-\(day)", type: .track, event: name, accountId: "acme", userId: "u1",
            timestamp: day0.addingTimeInterval(day * 86_400), properties: properties)
    }

    func apply(_ events: [AccountEvent], to state: AccountState = AccountState(accountId: "acme"), activity: [ActivityDay] = [])
        -> JourneyEngine.Outcome
    {
        JourneyEngine.apply(events, to: state, activity: activity, now: events.map(\.timestamp).max() ?? day0)
    }

    @Test("The stage is the furthest milestone reached, entered when it was first reached")
    func stageFollowsMilestones() {
        let outcome = apply([
            track(CanonicalEvent.contractSigned, day: 0), track(CanonicalEvent.kickoffCompleted, day: 5),
            track(CanonicalEvent.onboardingCompleted, day: 40),
        ])
        #expect(outcome.state.stage == .adoption)
        #expect(outcome.state.stageEnteredAt == day0.addingTimeInterval(40 * 86_400))
        #expect(outcome.signals.map(\.kind) == [SignalKind.stageEntered])
        #expect(outcome.signals.first?.data["from"] == .string("awareness"))
    }

    @Test("Any order of the same events, in one batch or many, gives the same state")
    func orderDoesNotMatter() {
        let events = [
            track(CanonicalEvent.contractSigned, day: 0), track(CanonicalEvent.kickoffCompleted, day: 5),
            track(CanonicalEvent.csmAssigned, day: 1, properties: ["csmId": "dana"]),
            track(CanonicalEvent.csmAssigned, day: 9, properties: ["csmId": "lee"]),
            track(CanonicalEvent.onboardingCompleted, day: 40), track("Report Exported", day: 41),
        ]
        let reference = apply(events).state
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let shuffled = events.shuffled(using: &generator)
            let split = Int.random(in: 0...shuffled.count, using: &generator)
            let first = apply(Array(shuffled[..<split]))
            let second = JourneyEngine.apply(
                Array(shuffled[split...]), to: first.state, activity: [], now: events.map(\.timestamp).max()!)
            #expect(second.state.stage == reference.stage)
            #expect(second.state.stageEnteredAt == reference.stageEnteredAt)
            #expect(second.state.milestones == reference.milestones)
            #expect(second.state.csmId == "lee")
        }
    }

    @Test("A churn wins unless a renewal was signed after it")
    func churnAndWinBack() {
        let churned = apply([track(CanonicalEvent.contractSigned, day: 0), track(CanonicalEvent.contractChurned, day: 300)])
        #expect(churned.state.stage == .churned)
        let wonBack = apply([
            track(CanonicalEvent.contractSigned, day: 0), track(CanonicalEvent.contractChurned, day: 300),
            track(CanonicalEvent.renewalSigned, day: 400),
        ])
        #expect(wonBack.state.stage == .retention)
    }

    @Test("A contact becoming champion raises contact.role_changed with a stable id")
    func roleChangeRaisesSignal() {
        let event = track(CanonicalEvent.contactRoleChanged, day: 3, id: "rc-1", properties: ["role": "champion"])
        let outcome = apply([event])
        let signal = outcome.signals.first { $0.kind == SignalKind.contactRoleChanged }
        #expect(signal?.signalId == "contact.role_changed/rc-1")
        #expect(signal?.data["role"] == .string("champion"))
        #expect(signal?.at == event.timestamp)
    }

    @Test("Health counts active days in the last 14 and says so")
    func healthFromUsage() {
        let now = day0.addingTimeInterval(30 * 86_400)
        let activity = (0..<30).map { ActivityDay(day: Timestamp.day(of: day0.addingTimeInterval(Double($0) * 86_400)), events: $0 % 2) }
        let outcome = JourneyEngine.apply([], to: AccountState(accountId: "acme"), activity: activity, now: now)
        // Days 17...30 of the window; odd days are active: 7 of 14 (day 30 has no bucket).
        #expect(outcome.state.health?.score == 70)
        #expect(outcome.state.health?.band == .green)
        #expect(outcome.state.health?.components.first?.reason == "active on 7 of the last 14 days (10 expected)")
    }

    @Test("A band change raises health.band_changed with from, to and reasons")
    func bandChangeRaisesSignal() {
        var state = AccountState(accountId: "acme")
        state.health = HealthScore(score: 90, band: .green, components: [], explanation: "", evaluatedAt: day0)
        let outcome = JourneyEngine.apply([], to: state, activity: [], now: day0)
        let signal = outcome.signals.first { $0.kind == SignalKind.healthBandChanged }
        #expect(signal?.data["from"] == .string("green"))
        #expect(signal?.data["to"] == .string("red"))
        #expect(signal?.data["reasons"] == .array([.string("active on 0 of the last 14 days (10 expected)")]))
    }

    @Test("Bands do not flap while a score hovers at a threshold", arguments: [
        (HealthBand.green, 67, HealthBand.green), (.green, 64, .yellow), (.yellow, 72, .yellow), (.yellow, 75, .green),
        (.yellow, 37, .yellow), (.yellow, 34, .red), (.red, 42, .red), (.red, 45, .yellow), (.red, 80, .green),
    ])
    func hysteresis(previous: HealthBand, score: Int, expected: HealthBand) {
        #expect(HealthBands.standard.band(for: score, previous: previous) == expected)
    }
}
