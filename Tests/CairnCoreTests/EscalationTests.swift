import CairnCore
import Foundation
import Testing

@Suite("Escalation")
struct EscalationTests {
    let at = Timestamp.parse("2026-11-23T08:00:00Z")!

    func signal(role: String) -> Signal {
        Signal(signalId: "s1", kind: SignalKind.contactRoleChanged, accountId: "acme", at: at,
               data: ["userId": "ben", "role": .string(role)])
    }

    @Test("A new champion on an account with a CSM gives the CSM a new-key-contact task")
    func newChampionGoesToTheCSM() throws {
        let tasks = Escalation.tasks(
            for: signal(role: "champion"), account: AccountContext(accountId: "acme", name: "Acme Corp", csmId: "dana"),
            now: at, makeID: { "t1" })
        let task = try #require(tasks.first)
        #expect(tasks.count == 1)
        #expect(task.assignee.destination == "csm.dana")
        #expect(task.playbook == "new-key-contact")
        #expect(task.accountName == "Acme Corp")
        #expect(task.dueAt == at.addingTimeInterval(5 * 86_400))
        #expect(task.trigger.kind == SignalKind.contactRoleChanged)
    }

    @Test("Without a CSM the task goes to the unassigned pool")
    func noCSMGoesToPool() {
        let tasks = Escalation.tasks(for: signal(role: "champion"), account: AccountContext(accountId: "acme"), now: at)
        #expect(tasks.map(\.assignee.destination) == ["pool.unassigned"])
    }

    @Test("A role change to anything but champion gives no task")
    func otherRolesGiveNoTask() {
        #expect(Escalation.tasks(for: signal(role: "end_user"), account: AccountContext(accountId: "acme", csmId: "dana"), now: at).isEmpty)
    }

    @Test("The task message encodes the contract's fields")
    func taskMessageMatchesContract() throws {
        let task = Escalation.tasks(for: signal(role: "champion"), account: AccountContext(accountId: "acme", csmId: "dana"), now: at)[0]
        let object = try JSONSerialization.jsonObject(with: Data(task.encoded())) as! [String: Any]
        for key in ["taskId", "accountId", "accountName", "playbook", "title", "trigger", "priority", "createdAt", "dueAt",
                    "assignee", "steps", "health", "stage", "segment", "links"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(try TaskMessage.parse(task.encoded()) == task)
    }
}
