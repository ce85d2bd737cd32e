import CairnCore
import Foundation
import Testing

/// The escalator's batch decisions, which must be what handling the same signals one at a time would decide.
@Suite("Task batches")
struct TaskBatchTests {
    let at = Timestamp.parse("2026-11-23T08:00:00Z")!

    func signal(_ id: String, account: String = "acme", kind: String = SignalKind.contactRoleChanged,
                data: [String: JSONValue] = ["userId": "ben", "role": "champion"], at offset: Double = 0) -> Signal {
        Signal(signalId: id, kind: kind, accountId: account, at: at.addingTimeInterval(offset), data: data)
    }

    func account(_ id: String = "acme", segment: String = "enterprise", csm: String? = "dana", band: HealthBand = .green) -> AccountContext {
        AccountContext(
            accountId: id, name: id, csmId: csm, segment: segment, stage: .adoption,
            health: HealthScore(score: 60, band: band, components: [], explanation: "", evaluatedAt: at))
    }

    func plans(_ pairs: [(Signal, AccountContext)]) -> [(signal: Signal, plan: EscalationPlan)] {
        var number = 0
        return pairs.map { signal, account in
            (signal, Escalation.plan(for: signal, account: account, now: signal.at, makeID: {
                number += 1
                return "task-\(number)"
            }))
        }
    }

    func batch(
        _ plans: [(signal: Signal, plan: EscalationPlan)], lastClosed: [PlayKey: Date] = [:], open: Set<PlayKey> = [],
        pools: [String: Roster.Pool] = [:], loads: [String: PoolLoad] = [:]
    ) -> TaskBatch {
        let cooldowns = Dictionary(EngineConfiguration.standard.playbooks.map { ($0.id, $0.cooldownDays) }, uniquingKeysWith: max)
        return TaskBatch(plans: plans, cooldownDays: cooldowns, lastClosed: lastClosed, open: open, pools: pools, loads: loads)
    }

    @Test("Three signals of one play in a batch: one task with the first signal's content, the last trigger, three history entries")
    func samePlayTwice() throws {
        let decided = batch(plans([
            (signal("s1", data: ["userId": "ben", "role": "champion"]), account()),
            (signal("s2", data: ["userId": "cy", "role": "champion"], at: 60), account()),
            (signal("s3", data: ["userId": "di", "role": "champion"], at: 120), account()),
        ]))
        let key = PlayKey(account: "acme", playbook: "new-key-contact")
        #expect(decided.order == [key])
        let candidate = try #require(decided.candidates[key])
        #expect(candidate.task.taskId == "task-1")
        #expect(candidate.task.trigger.detail["userId"] == "ben")
        #expect(candidate.trigger.detail["userId"] == "di")
        #expect(candidate.history.map { $0.detail["userId"] } == ["ben", "cy", "di"])
        // The play also sends its welcome message, once per signal (each signal's own message).
        #expect(decided.outreach.count == 3)
    }

    @Test("An outreach sent by an earlier signal of the batch starts its play's cool-down for the later ones")
    func outreachStartsTheCooldownWithinTheBatch() {
        let yellow: [String: JSONValue] = ["from": "green", "to": "yellow", "score": 60]
        let smb = account(segment: "smb", csm: nil, band: .yellow)
        let decided = batch(plans([
            (signal("s1", kind: SignalKind.healthBandChanged, data: yellow), smb),
            (signal("s2", kind: SignalKind.healthBandChanged, data: yellow, at: 86_400), smb),
        ]))
        #expect(decided.outreach.map(\.trigger.at) == [at])
        #expect(decided.cooledDown == 1)
        #expect(decided.order.isEmpty)
    }

    @Test("A play closed within its cool-down starts nothing; closed before it, it starts again")
    func cooldownFromTheDatabase() {
        let red: [String: JSONValue] = ["from": "yellow", "to": "red", "score": 30]
        let key = PlayKey(account: "acme", playbook: "health-red")
        let recent = batch(plans([(signal("s1", kind: SignalKind.healthBandChanged, data: red), account(band: .red))]),
                           lastClosed: [key: at.addingTimeInterval(-6 * 86_400)])
        #expect(recent.cooledDown == 1 && recent.order.isEmpty)
        let old = batch(plans([(signal("s1", kind: SignalKind.healthBandChanged, data: red), account(band: .red))]),
                        lastClosed: [key: at.addingTimeInterval(-8 * 86_400)])
        #expect(old.cooledDown == 0 && old.order == [key])
    }

    @Test("Pool tasks go to the least-loaded member, counting the ones given earlier in the batch; an open play takes none")
    func leastLoadedWithinTheBatch() {
        let pools = ["enterprise": Roster.Pool(members: ["ann", "bob"])]
        let accounts = ["a1", "a2", "a3", "a4"].map { account($0, csm: nil) }
        let decided = batch(
            plans(accounts.enumerated().map { (signal("s\($0.offset)", account: $0.element.accountId), $0.element) }),
            open: [PlayKey(account: "a2", playbook: "new-key-contact")], pools: pools,
            loads: ["enterprise": PoolLoad(openByMember: ["ann": 1], total: 1)])
        let members = decided.order.map { decided.candidates[$0]!.task.assignee.member }
        // a1 → bob (0 < 1); a2 is open: refreshed, nobody assigned; a3 → ann (1 = 1, first in the roster); a4 → bob.
        #expect(members == ["bob", nil, "ann", "bob"])
    }

    @Test("Round-robin pools take turns from the pool's task count")
    func roundRobin() {
        let pools = ["enterprise": Roster.Pool(members: ["ann", "bob", "cy"], assignment: .roundRobin)]
        let accounts = ["a1", "a2", "a3"].map { account($0, csm: nil) }
        let decided = batch(
            plans(accounts.enumerated().map { (signal("s\($0.offset)", account: $0.element.accountId), $0.element) }),
            pools: pools, loads: ["enterprise": PoolLoad(total: 5)])
        #expect(decided.order.map { decided.candidates[$0]!.task.assignee.member } == ["cy", "ann", "bob"])
    }
}
