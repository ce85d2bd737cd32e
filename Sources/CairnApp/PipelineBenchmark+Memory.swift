import CairnAMQP
import CairnStore
import Foundation
import Glibc
import Logging

extension PipelineBenchmark {
    /// A worker's memory over a long run: what `measureWorkerMemory` saw.
    public struct MemoryRun: Sendable, Codable {
        public struct Sample: Sendable, Codable {
            public var seconds: Double
            /// Events of the run committed by then.
            public var events: Int
            /// The worker's resident set (VmRSS) and its peak so far (VmHWM), in MiB.
            public var residentMiB: Double
            public var peakMiB: Double
        }

        public var accounts: Int
        /// Events per second offered: half the end-to-end rate of the first one-worker run.
        public var offeredRate: Int
        public var seconds: Double
        public var events: Int
        public var samples: [Sample]
        /// The resident set once the first quarter of the run is over (pools, caches and buffers at their size), at
        /// the end, and the growth between the two per 100,000 events applied in between.
        public var warmResidentMiB: Double
        public var finalResidentMiB: Double
        public var peakMiB: Double
        public var growthMiBPer100kEvents: Double
        /// The worker's exit status after SIGTERM (0: it finished its batch, committed, acked and stopped).
        public var exitStatus: Int32
    }

    /// Starts a separate `cairn worker` (this executable, the same settings), publishes a steady stream to it at
    /// `rate` events per second for `memorySeconds`, and reads its VmRSS and VmHWM from /proc about thirty times
    /// along the way; then waits for the last event to be committed and stops the worker with SIGTERM, by its pid.
    /// The worker is a process of its own because in this process the publisher and the other measurements share the
    /// heap; its outbox relay runs inside it, as in `cairn worker`.
    func measureWorkerMemory(runID: String, rate: Int, accounts: Int) async throws -> MemoryRun {
        let worker = try WorkerProcess.start(logger: logger)
        do {
            return try await measureMemory(of: worker, runID: runID, rate: rate, accounts: accounts)
        } catch {
            await worker.stop()
            throw error
        }
    }

    private func measureMemory(of worker: WorkerProcess, runID: String, rate: Int, accounts: Int) async throws -> MemoryRun {
        let prefix = "bench-\(runID)-"
        return try await withPipeline(workers: 0) { store, publisher in
            let clock = ContinuousClock()
            let began = clock.now
            let duration = Duration.seconds(memorySeconds)
            let tick = Duration.milliseconds(100)
            let sampleEvery = max(Duration.seconds(1), duration / 30)
            var samples: [MemoryRun.Sample] = []
            func sample() async throws {
                guard worker.isRunning else {
                    throw BenchmarkError(description: "the worker exited during the memory run:\n\(worker.logTail())")
                }
                let memory = try worker.memory()
                samples.append(.init(
                    seconds: (clock.now - began).seconds, events: try await count(store, prefix: prefix),
                    residentMiB: memory.resident, peakMiB: memory.peak))
            }
            var sent = 0
            var next = began
            var nextSample = began + sampleEvery
            while clock.now - began < duration {
                try await Task.sleep(until: next, clock: clock)
                next = next.advanced(by: tick)
                // Every event due by now at `rate`, so a late tick catches up instead of lowering the rate.
                let due = Int((clock.now - began).seconds * Double(rate))
                if due > sent {
                    let slice = (sent..<due).map { Self.message(Self.event(index: $0, runID: runID, accounts: accounts)) }
                    try await publisher.publish(slice)
                    sent = due
                }
                if clock.now >= nextSample {
                    try await sample()
                    nextSample = nextSample + sampleEvery
                }
            }
            try await waitForAll(sent, store: store, prefix: prefix, began: began)
            try await sample()
            let seconds = (clock.now - began).seconds
            let status = await worker.stop()
            guard status == 0 else {
                throw BenchmarkError(description: "the worker exited with status \(status) on SIGTERM:\n\(worker.logTail())")
            }
            let warm = samples.first { $0.seconds >= seconds / 4 } ?? samples[0]
            let last = samples[samples.count - 1]
            let applied = max(1, last.events - warm.events)
            return MemoryRun(
                accounts: accounts, offeredRate: rate, seconds: seconds, events: sent, samples: samples,
                warmResidentMiB: warm.residentMiB, finalResidentMiB: last.residentMiB,
                peakMiB: samples.map(\.peakMiB).max() ?? 0,
                growthMiBPer100kEvents: (last.residentMiB - warm.residentMiB) / Double(applied) * 100_000,
                exitStatus: status)
        }
    }
}

/// A `cairn worker` child process of the benchmark, started from this executable with this process's environment
/// (so the same broker, database and settings), its output in a temporary file, stopped by its pid.
final class WorkerProcess: @unchecked Sendable {
    private let process: Process
    private let log: URL
    private var status: Int32?

    private init(process: Process, log: URL) {
        self.process = process
        self.log = log
    }

    static func start(logger: Logger) throws -> WorkerProcess {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-bench-worker-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["worker"]
        var environment = ProcessInfo.processInfo.environment
        environment["LOG_LEVEL"] = "warning"
        environment.removeValue(forKey: "CAIRN_METRICS_PORT")  // nothing scrapes it here; the port may be taken
        environment["CAIRN_PARENT_PID"] = "\(getpid())"  // stops by itself if the benchmark is killed
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        try process.run()
        logger.info("benchmark worker started", metadata: ["cairn.pid": "\(process.processIdentifier)"])
        return WorkerProcess(process: process, log: log)
    }

    var isRunning: Bool { process.isRunning }

    /// VmRSS and VmHWM of the worker, in MiB.
    func memory() throws -> (resident: Double, peak: Double) {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        func kib(_ key: String) -> Double {
            let line = status.split(separator: "\n").first { $0.hasPrefix(key + ":") }
            return Double(line?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return (kib("VmRSS") / 1024, kib("VmHWM") / 1024)
    }

    /// Sends SIGTERM (once) and waits up to 60 seconds for the exit, then SIGKILL; returns the exit status.
    @discardableResult
    func stop() async -> Int32 {
        if let status { return status }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        let result = process.terminationStatus
        status = result
        return result
    }

    deinit { try? FileManager.default.removeItem(at: log) }

    /// The last lines the worker wrote, for an error message.
    func logTail() -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }
}
