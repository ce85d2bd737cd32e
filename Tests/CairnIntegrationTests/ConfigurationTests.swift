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

    @Test("A missing cairn.yaml and a bad clock are named too")
    func missingConfigAndBadClock() async throws {
        let (status, log) = try await run(["worker"], environment: ["CAIRN_CONFIG": "no/such/cairn.yaml"], name: "config-missing")
        #expect(status != 0)
        #expect(log.contains("CAIRN_CONFIG: no/such/cairn.yaml: file not found"), "\(log)")
        let (clockStatus, clockLog) = try await run(["escalator"], environment: ["CAIRN_CLOCK": "sundial"], name: "config-clock")
        #expect(clockStatus != 0)
        #expect(clockLog.contains("CAIRN_CLOCK: must be wall or stream"), "\(clockLog)")
    }
}
