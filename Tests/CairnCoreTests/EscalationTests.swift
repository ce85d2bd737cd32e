import CairnCore
import Foundation
import Testing

@Suite("Escalation")
struct EscalationTests {
    let at = Timestamp.parse("2026-11-23T08:00:00Z")!  // a Monday

    func signal(_ kind: String = SignalKind.contactRoleChanged, _ data: [String: JSONValue] = ["userId": "ben", "role": "champion"]) -> Signal {
        Signal(signalId: "s1", kind: kind, accountId: "acme", at: at, data: data)
    }

    func account(segment: String = "enterprise", csm: String? = "dana", band: HealthBand = .green) -> AccountContext {
        AccountContext(
            accountId: "acme", name: "Acme Corp", csmId: csm, segment: segment, stage: .adoption,
            health: HealthScore(score: 80, band: band, components: [], explanation: "", evaluatedAt: at))
    }

    @Test("A new champion on a high-touch account gives its CSM a new-key-contact task, due in five business days")
    func newChampionGoesToTheCSM() throws {
        let plan = Escalation.plan(for: signal(), account: account(), now: at, makeID: { "t1" })
        let task = try #require(plan.tasks.first)
        #expect(plan.tasks.count == 1)
        #expect(task.assignee.destination == "csm.dana")
        #expect(task.playbook == "new-key-contact")
        #expect(task.accountName == "Acme Corp")
        #expect(task.dueAt == Timestamp.parse("2026-11-30T08:00:00Z"))
        #expect(task.trigger.kind == SignalKind.contactRoleChanged)
        #expect(task.segment == "enterprise")
        #expect(plan.outreach.map(\.contentKey) == ["welcome-new-champion"])
    }

    @Test("A signal older than 30 days (a replay of old history) starts no play")
    func staleSignalsStartNothing() {
        #expect(Escalation.plan(for: signal(), account: account(), now: at.addingTimeInterval(31 * 86_400)) == EscalationPlan())
        #expect(Escalation.plan(for: signal(), account: account(), now: at.addingTimeInterval(29 * 86_400)).tasks.count == 1)
    }

    @Test("Business days skip the weekend")
    func businessDays() {
        let friday = Timestamp.parse("2026-11-27T10:00:00Z")!
        #expect(Escalation.addBusinessDays(1, to: friday) == Timestamp.parse("2026-11-30T10:00:00Z"))
        #expect(Escalation.addBusinessDays(5, to: friday) == Timestamp.parse("2026-12-04T10:00:00Z"))
    }

    @Test("High-touch tasks go to the CSM (the pool without one); pooled and low-touch ones never to a named CSM")
    func routing() {
        #expect(Escalation.plan(for: signal(), account: account(csm: nil), now: at).tasks.map(\.assignee.destination) == ["pool.enterprise"])
        #expect(Escalation.plan(for: signal(), account: account(segment: "mid-market"), now: at).tasks.map(\.assignee.destination)
            == ["pool.mid-market"])
        #expect(Escalation.plan(for: signal(), account: account(segment: "smb"), now: at).tasks.map(\.assignee.destination) == ["pool.smb"])
    }

    @Test("Low-touch accounts get the automated message where the play has one, and a pool task where it has none")
    func lowTouchGetsOutreach() {
        let yellow = signal(SignalKind.healthBandChanged, ["from": "green", "to": "yellow", "score": 60])
        let smb = Escalation.plan(for: yellow, account: account(segment: "smb", csm: nil, band: .yellow), now: at)
        #expect(smb.tasks.isEmpty)
        #expect(smb.outreach.map(\.contentKey) == ["tips-get-more-value"])
        #expect(smb.outreach.first?.personas == ["admin", "champion"])
        let enterprise = Escalation.plan(for: yellow, account: account(band: .yellow), now: at)
        #expect(enterprise.tasks.map(\.playbook) == ["health-yellow"])
        #expect(enterprise.outreach.isEmpty)
        let detractor = Escalation.plan(for: signal(SignalKind.npsDetractor, ["score": 2]), account: account(segment: "smb", csm: nil), now: at)
        #expect(detractor.tasks.map(\.assignee.destination) == ["pool.smb"])
    }

    @Test("Every shipped play fires for its situation", arguments: [
        (SignalKind.championLeft, [String: JSONValue](), "champion-left"),
        (SignalKind.healthBandChanged, ["from": "yellow", "to": "red"], "health-red"),
        (SignalKind.healthDropped, [:], "health-drop"),
        (SignalKind.milestoneMissed, ["milestone": "kickoff"], "milestone-missed"),
        (SignalKind.npsDetractor, ["score": 3], "detractor-nps"),
        (SignalKind.licenseUnderused, [:], "licenses-underused"),
        (SignalKind.licenseUtilizationHigh, [:], "upsell"),
        (SignalKind.renewalWindowOpened, ["days": 90], "renewal"),
        (SignalKind.invoiceOverdue, [:], "invoice-overdue"),
        (SignalKind.ticketEscalated, [:], "support-escalation"),
        (SignalKind.maturityAnniversary, ["years": 3], "maturity-review"),
        (SignalKind.npsPromoter, ["score": 10], "advocacy-ask"),
    ])
    func catalogue(kind: String, data: [String: JSONValue], playbook: String) {
        let plan = Escalation.plan(for: signal(kind, data), account: account(), now: at)
        #expect(plan.tasks.map(\.playbook) == [playbook])
    }

    @Test("A role change to anything but champion, or a promoter on an unhealthy account, starts nothing")
    func nonMatchingSignalsStartNothing() {
        #expect(Escalation.plan(for: signal(SignalKind.contactRoleChanged, ["role": "end_user"]), account: account(), now: at) == EscalationPlan())
        #expect(Escalation.plan(for: signal(SignalKind.npsPromoter, ["score": 10]), account: account(band: .red), now: at) == EscalationPlan())
    }

    @Test("Stage and band conditions read the account as the signal carries it, not as it is when the escalator handles it")
    func conditionsReadTheSignalsSnapshot() throws {
        // The account entered kickoff, and had moved on to adoption by the time a lagging escalator got the signal.
        var kickoff = signal(SignalKind.stageEntered, ["stage": "kickoff"])
        kickoff.stage = .kickoff
        #expect(Escalation.plan(for: kickoff, account: account(), now: at).tasks.map(\.playbook) == ["first-90-days"])
        // A signal written before signals carried a stage is judged on the account as it is now.
        kickoff.stage = nil
        #expect(Escalation.plan(for: kickoff, account: account(), now: at) == EscalationPlan())

        // A promoter while green asks for a review even if the account has turned red since; one while red does not.
        var promoter = signal(SignalKind.npsPromoter, ["score": 10])
        promoter.band = .green
        #expect(Escalation.plan(for: promoter, account: account(band: .red), now: at).tasks.map(\.playbook) == ["advocacy-ask"])
        promoter.band = .red
        #expect(Escalation.plan(for: promoter, account: account(band: .green), now: at) == EscalationPlan())
    }

    @Test("A signal carries its stage and band through JSON, and one without them still parses")
    func signalSnapshotCoding() throws {
        var raised = signal(SignalKind.npsPromoter, ["score": 10])
        (raised.stage, raised.band, raised.raisedAt) = (.adoption, .green, at)
        #expect(try Signal.parse(raised.encoded()) == raised)
        let old = #"{"signalId":"s1","kind":"nps.promoter","accountId":"acme","at":"2026-11-23T08:00:00Z","data":{"score":10}}"#
        let parsed = try Signal.parse(Array(old.utf8))
        #expect(parsed.stage == nil && parsed.band == nil && parsed.kind == SignalKind.npsPromoter)
    }

    @Test("A late task goes to the CSM's manager, else the pool's, else the default manager")
    func managers() {
        let roster = Roster(
            csms: ["dana": .init(manager: "lee")], pools: ["smb": .init(members: ["a", "b"], manager: "kim")], defaultManager: "max")
        #expect(roster.manager(of: .init(kind: "csm", id: "dana")) == "lee")
        #expect(roster.manager(of: .init(kind: "csm", id: "zoe")) == "max")
        #expect(roster.manager(of: .init(kind: "pool", id: "smb")) == "kim")
    }

    @Test("The task message encodes the contract's fields")
    func taskMessageMatchesContract() throws {
        let task = Escalation.plan(for: signal(), account: account(), now: at).tasks[0]
        let object = try JSONSerialization.jsonObject(with: Data(task.encoded())) as! [String: Any]
        for key in ["taskId", "accountId", "accountName", "playbook", "title", "trigger", "priority", "createdAt", "dueAt",
                    "assignee", "steps", "health", "stage", "segment", "links"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(try TaskMessage.parse(task.encoded()) == task)
    }
}
