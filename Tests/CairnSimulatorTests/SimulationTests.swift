import CairnCore
import CairnSimulator
import Foundation
import Testing

@Suite("Simulated event stream")
struct SimulationTests {
    @Test("Two runs with the same seed give the same bytes (and the same hash)")
    func sameSeedSameBytes() throws {
        let configuration = Fixtures.configuration(accounts: 80, days: 45, seed: 42)
        let first = try Fixtures.ndjson(configuration)
        let second = try Fixtures.ndjson(configuration)
        #expect(first.count > 10_000)
        #expect(Fixtures.fnv1a(first) == Fixtures.fnv1a(second))
        let identical = first == second  // outside #expect, which would print both streams on failure
        #expect(identical)
    }

    @Test("A different seed gives a different stream")
    func differentSeedDifferentBytes() throws {
        let first = try Fixtures.ndjson(Fixtures.configuration(accounts: 80, days: 45, seed: 42))
        let other = try Fixtures.ndjson(Fixtures.configuration(accounts: 80, days: 45, seed: 43))
        #expect(Fixtures.fnv1a(first) != Fixtures.fnv1a(other))
    }

    @Test("The ground truth is the same for the same seed and differs for another")
    func groundTruthIsDeterministic() throws {
        let truth = try Simulation(configuration: Fixtures.configuration(accounts: 200, days: 90, seed: 5)).groundTruth.encoded()
        #expect(truth == (try Simulation(configuration: Fixtures.configuration(accounts: 200, days: 90, seed: 5)).groundTruth.encoded()))
        #expect(truth != (try Simulation(configuration: Fixtures.configuration(accounts: 200, days: 90, seed: 6)).groundTruth.encoded()))
    }

    @Test("Every event survives AccountEvent.parse(encoded()) unchanged")
    func everyEventRoundTrips() throws {
        var count = 0
        for day in Fixtures.small {
            for event in day.events {
                #expect(try AccountEvent.parse(event.encoded()) == event)
                count += 1
            }
        }
        #expect(count > 1_000)
    }

    @Test("Each day's events are in timestamp order and fall on that day (day 0 also carries earlier history)")
    func eventsAreOrderedWithinTheirDay() {
        var previous = Date.distantPast
        for day in Fixtures.small {
            let end = day.date.addingTimeInterval(86_400)
            for event in day.events {
                #expect(event.timestamp >= previous)
                #expect(event.timestamp < end)
                if day.index > 0 { #expect(event.timestamp >= day.date) }
                previous = event.timestamp
            }
        }
        #expect(Fixtures.small[0].events.contains { $0.timestamp < Fixtures.small[0].date })
    }

    @Test("Events are received as they happen; the history before the period is received at its start")
    func historyIsReceivedAtTheStart() {
        let start = Fixtures.small[0].date
        for day in Fixtures.small {
            for event in day.events {
                #expect(event.receivedAt == max(event.timestamp, start))
            }
        }
    }

    @Test("messageIds are sim-<seed>-<n>, numbered 1, 2, 3 … in stream order")
    func messageIdsAreSequential() {
        let ids = Fixtures.small.flatMap(\.events).map(\.messageId)
        #expect(ids == (1...ids.count).map { "sim-7-\($0)" })
    }

    @Test("identify calls carry a persona role and the account; group calls name the account with its contract figures")
    func identifyAndGroupCarryTraits() {
        let events = Fixtures.small.flatMap(\.events)
        let identifies = events.filter { $0.type == .identify }
        let groups = events.filter { $0.type == .group }
        #expect(!identifies.isEmpty)
        #expect(!groups.isEmpty)
        for event in identifies {
            #expect(["admin", "champion", "sponsor", "end_user"].contains(event.traits["role"]?.stringValue ?? ""))
            #expect(event.traits["accountId"] == event.accountId.map(JSONValue.string))
            #expect(event.userId != nil)
        }
        for event in groups {
            #expect(event.traits["name"]?.stringValue?.isEmpty == false)
            #expect(event.traits["arr"]?.doubleValue != nil)
            #expect(event.traits["seats"]?.doubleValue != nil)
            #expect(event.traits["plan"]?.stringValue != nil)
            #expect(event.traits["region"]?.stringValue != nil)
        }
    }

    @Test("Business events use the canonical vocabulary with their properties; usage events carry a feature")
    func eventsFollowTheVocabulary() {
        let required: [String: [String]] = [
            "contract.signed": ["plan", "seats", "arr", "renewalDate"], "license.updated": ["purchased", "assigned"],
            "ticket.opened": ["priority"], "ticket.escalated": ["priority"], "ticket.closed": ["priority"],
            "nps.submitted": ["score"], "invoice.overdue": ["daysOverdue"], "touchpoint.logged": ["channel"],
            "expansion.signed": ["seats"], "csm.assigned": ["csmId"], "contact.role_changed": ["role"],
            "training.completed": ["kind"],
        ]
        var seen = Set<String>()
        for event in Fixtures.small.flatMap(\.events) where event.type == .track {
            let name = event.event!
            if Fixtures.isUsage(event) {
                #expect(event.properties["feature"]?.stringValue != nil, "usage event \(name) without a feature")
                #expect(event.userId != nil)
                continue
            }
            seen.insert(name)
            for key in required[name] ?? [] {
                #expect(event.properties[key] != nil, "\(name) without \(key)")
            }
        }
        #expect(seen.isSuperset(of: ["contract.signed", "license.updated", "ticket.opened", "invoice.paid", "csm.assigned"]))
    }
}
