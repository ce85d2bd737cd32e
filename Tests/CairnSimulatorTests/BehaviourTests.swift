import CairnCore
import CairnSimulator
import Foundation
import Testing

@Suite("Fates drive behaviour")
struct BehaviourTests {
    var run: Behaviour { Fixtures.behaviour }

    func accounts(_ fate: Fate) -> [AccountTruth] {
        run.truth.accounts.filter { $0.fate == fate }
    }

    func mean(_ values: [Double]) -> Double {
        values.reduce(0, +) / Double(max(values.count, 1))
    }

    @Test("Churners use the product clearly less in the 60 days before churning than renewers at the end of the period")
    func churnersFadeBeforeChurning() {
        let churners = accounts(.churns).compactMap { account -> Double? in
            let day = run.dayIndex(account.fateDate)
            return run.usageRate(account.accountId, days: (day - 60)..<day)
        }
        let renewers = accounts(.renews).compactMap { run.usageRate($0.accountId, days: (run.days - 60)..<run.days) }
        #expect(churners.count >= 15)
        #expect(renewers.count >= 100)
        #expect(mean(churners) < 0.7 * mean(renewers), "churners \(mean(churners)), renewers \(mean(renewers))")
    }

    @Test("Every churner sends contract.churned on its fate date, once, and nothing after that day")
    func churnersChurnOnTheirDate() {
        let churners = accounts(.churns)
        #expect(!churners.isEmpty)
        for account in churners {
            let day = run.dayIndex(account.fateDate)
            #expect(run.events(account.accountId, named: "contract.churned").map(\.day) == [day], "\(account.accountId)")
            #expect((run.lastDay[account.accountId] ?? 0) <= day)
        }
        #expect(accounts(.renews).allSatisfy { run.events($0.accountId, named: "contract.churned").isEmpty })
    }

    @Test("Every expander signs its expansion on its fate date, with licence utilisation higher than renewers'")
    func expandersExpandWithHighUtilisation() {
        func utilisation(_ account: AccountTruth, before day: Int) -> [Double] {
            run.events(account.accountId, named: "license.updated").filter { $0.day < day && $0.day >= day - 90 }.compactMap {
                guard let assigned = $0.properties["assigned"]?.doubleValue, let purchased = $0.properties["purchased"]?.doubleValue
                else { return nil }
                return assigned / purchased
            }
        }
        let expanders = accounts(.expands)
        #expect(!expanders.isEmpty)
        for account in expanders {
            let day = run.dayIndex(account.fateDate)
            #expect(run.events(account.accountId, named: "expansion.signed").map(\.day) == [day], "\(account.accountId)")
        }
        let expanderUse = mean(expanders.flatMap { utilisation($0, before: run.dayIndex($0.fateDate)) })
        let renewerUse = mean(accounts(.renews).flatMap { utilisation($0, before: run.days) })
        #expect(expanderUse > renewerUse + 0.05, "expanders \(expanderUse), renewers \(renewerUse)")
    }

    @Test("Churners give lower NPS than renewers in the months before they churn")
    func churnersAreDetractors() {
        func scores(_ account: AccountTruth, from: Int, to: Int) -> [Double] {
            run.events(account.accountId, named: "nps.submitted").filter { $0.day >= from && $0.day < to }.compactMap {
                $0.properties["score"]?.doubleValue
            }
        }
        let churners = accounts(.churns).flatMap { scores($0, from: run.dayIndex($0.fateDate) - 120, to: run.dayIndex($0.fateDate)) }
        let renewers = accounts(.renews).flatMap { scores($0, from: 0, to: run.days) }
        #expect(churners.count >= 10)
        #expect(mean(churners) < mean(renewers) - 1.5, "churners \(mean(churners)), renewers \(mean(renewers))")
    }

    @Test("Renewals due in the period are signed at most two weeks early by renewers, never by churners after they churn")
    func renewalsAreSigned() {
        for account in accounts(.renews) where run.dayIndex(account.renewalDate) < run.days {
            let due = run.dayIndex(account.renewalDate)
            #expect(run.events(account.accountId, named: "renewal.signed").contains { (due - 14)...due ~= $0.day }, "\(account.accountId)")
        }
        for account in accounts(.churns) {
            #expect(run.events(account.accountId, named: "renewal.signed").allSatisfy { $0.day < run.dayIndex(account.fateDate) })
        }
    }

    @Test("New customers sign in the period and then reach kickoff")
    func newCustomersSignAndKickOff() {
        let newcomers = run.truth.accounts.filter { $0.contractStart >= run.truth.start }
        #expect(!newcomers.isEmpty)
        for account in newcomers {
            #expect(run.events(account.accountId, named: "contract.signed").map(\.day) == [run.dayIndex(account.contractStart)])
        }
        #expect(newcomers.contains { !run.events($0.accountId, named: "kickoff.completed").isEmpty })
    }

    @Test("A new key contact is identified with the role it takes, when contact.role_changed announces it")
    func roleChangesFollowIdentify() {
        var changes = 0
        for (accountId, events) in run.business {
            for change in events where change.name == "contact.role_changed" {
                changes += 1
                let role = change.properties["role"]?.stringValue
                #expect(
                    run.identities.contains {
                        $0.accountId == accountId && $0.userId == change.userId && $0.role == role && $0.time <= change.time
                    })
            }
        }
        #expect(changes > 0)
        #expect(run.business.values.contains { $0.contains { $0.name == "contact.left" && $0.properties["role"] == "champion" } })
    }

    @Test("Weekends are quieter than weekdays")
    func weekendsAreQuieter() {
        let weekday = Double(run.weekdayUsage) / Double(run.weekdays)
        let weekend = Double(run.weekendUsage) / Double(run.weekendDays)
        #expect(weekend < 0.4 * weekday)
    }
}
