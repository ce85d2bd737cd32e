import CairnTesting
import Foundation
import Testing

/// Settings and cairn.yaml problems stop a role at start with a message that names the place.
@Suite("Role configuration")
struct ConfigurationTests {
    func run(_ arguments: [String], environment: [String: String], name: String) async throws -> (Int32, String) {
        var full = ProcessInfo.processInfo.environment
        full.merge(environment) { $1 }
        let process = try CairnProcess(arguments, environment: full, logName: name)
        defer { process.kill() }
        return (await process.exitStatus(within: .seconds(20)) ?? -1, process.log)
    }

    @Test("A cairn.yaml with a mistake stops the role with file, line, key and reason")
    func invalidConfigStopsTheRole() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-bad-\(UUID().uuidString).yaml")
        try "# comment\nsegments:\n  - name: big\n    touch: very-high\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, log) = try await run(["worker"], environment: ["CAIRN_CONFIG": file.path], name: "config-invalid")
        #expect(status != 0)
        #expect(log.contains("CAIRN_CONFIG: \(file.path):4: segments[0].touch:"), "\(log)")
    }

    @Test("cairn config check summarises the shipped cairn.yaml, and names file, line and key of a broken one")
    func configCheck() async throws {
        let (status, log) = try await run(["config", "check", "config/cairn.yaml"], environment: [:], name: "config-check")
        #expect(status == 0, "\(log)")
        #expect(log.contains("config/cairn.yaml: OK"), "\(log)")
        #expect(log.contains("playbooks:  15"), "\(log)")
        #expect(log.contains("enterprise (high touch)"), "\(log)")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-check-\(UUID().uuidString).yaml")
        try "segments:\n  - name: big\n    touch: very-high\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (badStatus, badLog) = try await run(["config", "check", file.path], environment: [:], name: "config-check-bad")
        #expect(badStatus == 1)
        #expect(badLog.contains("\(file.path):3: segments[0].touch:"), "\(badLog)")
        let (missingStatus, missingLog) = try await run(["config", "check", "no/such.yaml"], environment: [:], name: "config-check-missing")
        #expect(missingStatus == 1)
        #expect(missingLog.contains("no/such.yaml: file not found"), "\(missingLog)")
    }

    @Test("A missing cairn.yaml and a bad clock are named too")
    func missingConfigAndBadClock() async throws {
        let (status, log) = try await run(["worker"], environment: ["CAIRN_CONFIG": "no/such/cairn.yaml"], name: "config-missing")
        #expect(status != 0)
        #expect(log.contains("CAIRN_CONFIG: no/such/cairn.yaml: file not found"), "\(log)")
        let (clockStatus, clockLog) = try await run(["escalator"], environment: ["CAIRN_CLOCK": "sundial"], name: "config-clock")
        #expect(clockStatus != 0)
        #expect(clockLog.contains("CAIRN_CLOCK: must be wall or stream"), "\(clockLog)")
    }

    @Test("Bad settings and bad command options stop the command with the variable or option named", arguments: [
        (["worker"], ["CAIRN_SWEEP_INTERVAL": "never"], "CAIRN_SWEEP_INTERVAL: must be a number of seconds"),
        (["worker"], ["CAIRN_BATCH_TIMEOUT": "0"], "CAIRN_BATCH_TIMEOUT: must be a number of seconds from 1 to 3600"),
        (["worker"], ["CAIRN_WORKER_BATCH": "0"], "CAIRN_WORKER_BATCH: must be a number of events from 1 to 8192"),
        (["worker"], ["CAIRN_WORKER_BATCH": "8193"], "CAIRN_WORKER_BATCH: must be a number of events from 1 to 8192"),
        (["bench"], ["CAIRN_WORKER_BATCH": "lots"], "CAIRN_WORKER_BATCH: must be a number of events from 1 to 8192"),
        (["worker"], ["CAIRN_SHUTDOWN_TIMEOUT": "-1"], "CAIRN_SHUTDOWN_TIMEOUT: must be a number of seconds from 1 to 3600"),
        (["worker"], ["CAIRN_IDLE_TRANSACTION_TIMEOUT": "soon"], "CAIRN_IDLE_TRANSACTION_TIMEOUT: must be a number of seconds from 0 to 3600"),
        (["escalator"], ["CAIRN_IDLE_TRANSACTION_TIMEOUT": "3601"], "CAIRN_IDLE_TRANSACTION_TIMEOUT: must be a number of seconds from 0 to 3600"),
        (["api"], ["CAIRN_PARENT_PID": "1"], "CAIRN_PARENT_PID: must be the process id of a running process, above 1"),
        (["worker"], ["CAIRN_PARENT_PID": "me"], "CAIRN_PARENT_PID: must be the process id of a running process, above 1"),
        (["ingest"], ["CAIRN_INGEST_PUBLISHERS": "0"], "CAIRN_INGEST_PUBLISHERS: must be a number of connections from 1 to 16"),
        (["evaluate", "--truth", "no/such/truth.json"], [:], "--truth no/such/truth.json: cannot be read"),
        (["simulate", "--accounts", "0", "--out", "-"], [:], "--accounts must be at least 1"),
        (["simulate", "--via", "amqp", "--usage-scale=-1"], [:], "--usage-scale must not be negative"),
        (["simulate", "--via", "http", "--speed", "0"], [:], "--speed must be a positive number"),
        (["simulate", "--via", "http", "--ingest-url", "ftp://x"], [:], "--ingest-url must be an http(s) URL"),
        (["bench", "--workers", "1,zero"], [:], "--workers must be positive whole numbers"),
        (["tasks", "snooze", "t1", "--until", "someday"], [:], "--until must be an ISO-8601 time or a number of days"),
        (["tasks", "reassign", "t1", "--to", "dana"], [:], "--to must be csm.<id>, pool.<name> or manager.<id>"),
    ] as [([String], [String: String], String)])
    func badSettingsAndOptions(arguments: [String], environment: [String: String], message: String) async throws {
        let (status, log) = try await run(arguments, environment: environment, name: "bad-\(arguments[0])-\(UUID().uuidString.prefix(8))")
        #expect(status != 0)
        #expect(log.contains(message), "\(log)")
    }
}
