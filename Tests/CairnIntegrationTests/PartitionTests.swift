import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// The workers' queues (CONTRACT.md): every account's events on one of eight work queues, picked by a hash of the
/// account, and each queue consumed by one worker at a time, so an account's events are applied in the order they
/// were published, however many workers run.
@Suite("Event partitions", .serialized)
struct PartitionTests {
    @Test("A worker's share of the partitions: every n-th one by its seat's rank; workers beyond eight stand by")
    func shares() {
        let count = CairnTopology.eventPartitions
        #expect(WorkerSeat.partitions(for: 0, among: [0], count: count) == Set(0..<8))
        #expect(WorkerSeat.partitions(for: 3, among: [0, 3], count: count) == [1, 3, 5, 7])
        #expect(WorkerSeat.partitions(for: 0, among: [3, 0], count: count) == [0, 2, 4, 6])
        let three = [1, 4, 9].map { WorkerSeat.partitions(for: $0, among: [9, 1, 4], count: count) }
        #expect(three == [[0, 3, 6], [1, 4, 7], [2, 5]])
        let many = Array(0..<10)
        let shares = many.map { WorkerSeat.partitions(for: $0, among: many, count: count) }
        #expect(shares.reduce(into: Set<Int>()) { $0.formUnion($1) } == Set(0..<8))
        #expect(shares.map(\.count) == [1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
        #expect(WorkerSeat.partitions(for: 5, among: [0, 1], count: count).isEmpty, "a seat not among the members holds nothing")
    }

    @Test("Each account's events all go to one work queue, and 800 accounts spread over all eight")
    func accountsSpreadOverPartitions() async throws {
        let environment = try await IsolatedEnvironment.make("partition-spread")
        let accounts = 800
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let events = (0..<2 * accounts).map { index in
            AccountEvent.usage(
                messageId: "spread-\(index)", accountId: "acct-\(index % accounts)", userId: "u", at: start.addingTimeInterval(Double(index)))
        }
        try await environment.withAMQP { try await $0.publishConfirmed(events.map(\.message)) }
        // On a loaded machine the broker once took more than 2 s to start delivering two of the queues: look again
        // (a peek leaves the messages in place) until every event is seen, up to 60 s, keeping each queue's fullest look.
        let expected = events.count
        let byQueue = try await environment.withAMQP { connection in
            var byQueue: [String: [AMQPDelivery]] = [:]
            let deadline = ContinuousClock.now + .seconds(60)
            repeat {
                for queue in CairnTopology.eventQueues {
                    let seen = await connection.peek(queue: queue, timeout: .seconds(2))
                    if seen.count > byQueue[queue, default: []].count { byQueue[queue] = seen }
                }
            } while byQueue.values.reduce(0, { $0 + $1.count }) < expected && ContinuousClock.now < deadline
            return byQueue
        }
        var queuesByAccount: [String: Set<String>] = [:]
        var accountsByQueue: [String: Set<String>] = [:]
        var received = 0
        for (queue, deliveries) in byQueue {
            for delivery in deliveries {
                received += 1
                queuesByAccount[delivery.routingKey, default: []].insert(queue)
                accountsByQueue[queue, default: []].insert(delivery.routingKey)
            }
        }
        #expect(received == events.count)
        #expect(queuesByAccount.count == accounts)
        #expect(queuesByAccount.values.allSatisfy { $0.count == 1 }, "an account's events went to more than one queue")
        let sizes = CairnTopology.eventQueues.map { accountsByQueue[$0]?.count ?? 0 }
        // An even split is 100 each; the hash ring (32 points per queue) keeps every queue within half of that.
        #expect(sizes.allSatisfy { $0 >= 50 && $0 <= 150 }, "accounts per queue: \(sizes)")
        await environment.tearDown()
    }

    @Test("Two workers split the partitions, take over from one killed, and apply each account's events once, in the order published")
    func workersSplitAndHandOver() async throws {
        let environment = try await IsolatedEnvironment.make("partition-handover")
        var processEnvironment = environment.processEnvironment()
        // Small batches: more transactions, so more chances for an account's events to be committed out of order.
        processEnvironment["CAIRN_WORKER_BATCH"] = "25"
        var workers = try (1...2).map { try CairnProcess(["worker"], environment: processEnvironment, logName: "worker-\(environment.name)-\($0)") }
        defer { for worker in workers { worker.kill() } }
        #expect(await Self.split(environment, among: 2), "\(workers.map(\.log))")

        let total = 9_000
        let events = AccountEvent.usageStream("h", count: total, accounts: 40, users: 200)
        let publisher = Task {
            try await environment.withAMQP { connection in
                for chunk in stride(from: 0, to: total, by: 300) {
                    try await connection.publishConfirmed(events[chunk..<min(chunk + 300, total)].map(\.message))
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        }
        let killedAt = try await environment.withStore { store in
            var applied = 0
            _ = await eventually(timeout: .seconds(60), every: .milliseconds(5)) {
                applied = (try? await store.integer("SELECT count(*)::int8 FROM events")) ?? 0
                return applied >= total / 3
            }
            return applied
        }
        workers[0].kill()
        workers[0] = try CairnProcess(["worker"], environment: processEnvironment, logName: "worker-\(environment.name)-3")
        try await publisher.value
        let done = try await environment.withStore { store in
            await eventually(timeout: .seconds(120)) { (try? await store.integer("SELECT count(*)::int8 FROM events")) == total }
        }
        #expect(killedAt < total, "the stream was applied before the kill; the test proves nothing")
        #expect(done, "not every event was applied: \(workers.map(\.log))")
        #expect(await Self.split(environment, among: 2), "the restarted worker did not get its share back: \(workers.map(\.log))")

        // Events are a minute apart in publish order; a batch's rows carry its transaction's start (stored_at), and
        // a partition's next batch starts after the last one committed. So, per account, stored_at never goes back.
        let (outOfOrder, counted) = try await environment.withStore { store in
            (try await store.integer(
                """
                SELECT count(*)::int8 FROM (
                    SELECT stored_at < lag(stored_at) OVER (PARTITION BY account_id ORDER BY occurred_at) AS back FROM events
                ) x WHERE back
                """),
             try await store.integer("SELECT sum(event_count)::int8 FROM accounts"))
        }
        #expect(outOfOrder == 0, "events committed before events published earlier for the same account")
        #expect(counted == total)
        for worker in workers { #expect(await worker.terminate() == 0) }
        await environment.tearDown()
    }

    /// Waits until every work queue has exactly one active consumer and none waiting, spread evenly over `workers`
    /// connections.
    static func split(_ environment: IsolatedEnvironment, among workers: Int) async -> Bool {
        await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
            guard let consumers = try? await environment.consumers().filter({ CairnTopology.isEventQueue($0.queue) }) else { return false }
            let perQueue = Dictionary(grouping: consumers, by: \.queue)
            let perConnection = Dictionary(grouping: consumers, by: \.connection).mapValues(\.count)
            return perQueue.count == CairnTopology.eventPartitions && perQueue.values.allSatisfy { $0.count == 1 && $0[0].active }
                && perConnection.count == workers && perConnection.values.allSatisfy { $0 == CairnTopology.eventPartitions / workers }
        }
    }
}
