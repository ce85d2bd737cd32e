import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import CairnWorker
import Foundation
import PostgresNIO
import Testing

/// `CAIRN_WORKER_BATCH` sets how many events a worker applies in one transaction and, at twice that, how many
/// unacknowledged deliveries it holds.
@Suite("Worker batch size")
struct WorkerBatchTests {
    @Test("A worker started with CAIRN_WORKER_BATCH=40 holds 80 deliveries and commits batches of at most 40 events")
    func configuredBatch() async throws {
        let environment = try await IsolatedEnvironment.make("worker-batch")
        let total = 400
        let events = AccountEvent.usageStream("b", count: total, accounts: 50, users: 120)
        // Queued before the worker starts, so its batches fill up to the limit.
        try await environment.withAMQP { try await $0.publishConfirmed(events.map(\.message)) }
        var processEnvironment = environment.processEnvironment()
        processEnvironment["CAIRN_WORKER_BATCH"] = "40"
        processEnvironment["LOG_LEVEL"] = "debug"
        let worker = try CairnProcess(["worker"], environment: processEnvironment, logName: "worker-batch-\(environment.name)")
        defer { worker.kill() }

        let applied = try await environment.withStore { store in
            await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
                ((try? await store.integer("SELECT count(*)::int8 FROM events")) ?? 0) == total
            }
        }
        #expect(applied, "\(worker.log)")
        // The management API lists a consumer once its statistics are in (every few seconds; later on a busy broker).
        // The only worker holds every partition: one consumer on each work queue.
        var prefetchCounts: [Int] = []
        for _ in 0..<120 where prefetchCounts.count < CairnTopology.eventPartitions {
            prefetchCounts = []
            for queue in CairnTopology.eventQueues {
                prefetchCounts += try await environment.consumerPrefetchCounts(on: queue)
            }
            if prefetchCounts.count < CairnTopology.eventPartitions { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(prefetchCounts == Array(repeating: 80, count: CairnTopology.eventPartitions))
        #expect(await worker.terminate() == 0)

        // Every committed batch, from the worker's debug log: none over 40, and together all 400 events.
        let sizes = worker.log.split(separator: "\n").filter { $0.contains("batch committed") }.compactMap { line -> Int? in
            guard let range = line.range(of: #"cairn\.applied=\d+"#, options: .regularExpression) else { return nil }
            return Int(line[range].dropFirst("cairn.applied=".count))
        }
        #expect(sizes.reduce(0, +) == total, "\(sizes)")
        #expect(sizes.allSatisfy { $0 <= 40 } && sizes.contains(40), "\(sizes)")
        await environment.tearDown()
    }

    @Test("The default batch is 256 events with 512 deliveries held")
    func defaults() {
        let worker = EventWorker.defaultBatch
        #expect(worker == 256)
        #expect(EventWorker.defaultPrefetch == 512)
        #expect(EventWorker.prefetch(forBatch: EventWorker.largestBatch) <= Int(UInt16.max))
    }
}
