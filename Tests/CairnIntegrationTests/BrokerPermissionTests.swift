import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// deploy/rabbitmq/definitions.json as shipped: its topology loaded into a test vhost and its per-role permissions
/// given to users of the test, every role logged in as its own user.
@Suite("Broker permissions", .serialized)
struct BrokerPermissionTests {
    typealias BrokerUser = IsolatedEnvironment.BrokerUser

    /// A vhost with the shipped topology and one user per role with the shipped permissions, by role.
    static func prepare(_ label: String) async throws -> (IsolatedEnvironment, [String: BrokerUser]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: "deploy/rabbitmq/definitions.json"))
        let definitions = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let environment = try await IsolatedEnvironment.make(label)
        var topology: [String: Any] = [:]
        for part in ["exchanges", "queues", "bindings"] {
            topology[part] = (definitions[part] as? [[String: Any]] ?? []).map { $0.filter { $0.key != "vhost" } }
        }
        try await environment.importDefinitions(topology)
        var users: [String: BrokerUser] = [:]
        for permission in definitions["permissions"] as? [[String: String]] ?? [] {
            let name = try #require(permission["user"])
            users[String(name.dropFirst("cairn-".count))] = try await environment.makeBrokerUser(
                name, configure: permission["configure"] ?? "", write: permission["write"] ?? "", read: permission["read"] ?? "")
        }
        #expect(Set(users.keys) == ["ingest", "worker", "escalator", "api"])
        return (environment, users)
    }

    /// What an operation came to: "ok", "refused: <error>", or "no answer" within `timeout`.
    static func outcome(within timeout: Duration = .seconds(10), _ operation: @escaping @Sendable () async throws -> Void) async -> String {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await operation()
                    return "ok"
                } catch {
                    return "refused: \(error)"
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? "no answer"
        }
    }

    @Test("Every role runs as its own least-privileged broker user: an event posted to ingest becomes a task on the CSM's queue")
    func rolesWorkWithTheirOwnUsers() async throws {
        let (environment, users) = try await Self.prepare("privilege-flow")
        let (ingestPort, apiPort) = (try freePort(), try freePort())
        let processes = try ["ingest", "worker", "escalator", "api"].map { role in
            try CairnProcess(
                [role], environment: environment.processEnvironment(ingestPort: ingestPort, apiPort: apiPort, brokerUser: users[role]),
                logName: "\(role)-\(environment.name)")
        }
        defer { processes.forEach { $0.kill() } }
        #expect(await becomesReady(port: ingestPort), "\(processes[0].log)")

        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        func at(_ offset: TimeInterval) -> String { Timestamp.format(now.addingTimeInterval(offset)) }
        let batch = #"""
            {"batch":[
              {"type":"track","messageId":"signed","event":"contract.signed","userId":"ana","timestamp":"\#(at(-120))",
               "context":{"groupId":"acme"},"properties":{"arr":400000}},
              {"type":"track","messageId":"assign","event":"csm.assigned","userId":"ana","timestamp":"\#(at(-60))",
               "context":{"groupId":"acme"},"properties":{"csmId":"dana"}},
              {"type":"track","messageId":"champion","event":"contact.role_changed","userId":"ben","timestamp":"\#(at(0))",
               "context":{"groupId":"acme"},"properties":{"role":"champion"}}
            ]}
            """#
        let response = try await http(port: ingestPort, path: "/v1/batch", body: json(batch), headers: ["Authorization": basicAuth("dev-write-key")])
        #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")

        let created = try await environment.withStore { store in
            await eventually(timeout: .seconds(30)) {
                let tasks = try? await store.integer("SELECT count(*)::int8 FROM tasks WHERE kind = 'task' AND playbook = 'new-key-contact'")
                let unsent = try? await store.unsentOutboxCount(logger: store.testLogger)
                return tasks == 1 && unsent == 0
            }
        }
        #expect(created, "no task: \(processes.map(\.log).joined(separator: "\n"))")
        let messages = try await environment.withAMQP { await $0.peek(queue: "cairn.tasks.csm.dana", count: 10, timeout: .seconds(10)) }
        let tasks = try messages.map { try TaskMessage.parse($0.body) }.filter { $0.playbook == "new-key-contact" }
        #expect(tasks.count == 1)
        #expect(tasks.first?.accountId == "acme")

        #expect(await becomesReady(port: apiPort), "\(processes[3].log)")
        let account = try await http(port: apiPort, path: "/api/v1/accounts/acme", headers: ["Authorization": "Bearer dev-api-token"])
        #expect(account.status == 200)
        for process in processes {
            #expect(!process.log.contains("ACCESS_REFUSED"), "\(process.log)")
            #expect(await process.terminate() == 0, "\(process.log)")
        }
        await environment.tearDown()
    }

    @Test("The ingest user may publish to cairn.events only: publishing to cairn.tasks and consuming the work queues (cairn.events.work.<n>) are refused")
    func ingestUserIsConfined() async throws {
        let (environment, users) = try await Self.prepare("privilege-deny")
        let ingest = try #require(users["ingest"])
        let worker = try #require(users["worker"])
        let api = try #require(users["api"])
        let event = AccountEvent.usage(messageId: "allowed", accountId: "acme", userId: "u1", at: Date())
        var forgedTask = AMQPMessage(
            exchange: CairnTopology.tasks, routingKey: "outreach", body: Array(#"{"forged":true}"#.utf8), messageID: "forged")
        forgedTask.mandatory = true
        let task = forgedTask

        let published = await Self.outcome { try await environment.withAMQP(as: ingest, topology: .init()) { try await $0.publish([event.message]) } }
        #expect(published == "ok")
        let forged = await Self.outcome { try await environment.withAMQP(as: ingest, topology: .init()) { try await $0.publish([task]) } }
        #expect(forged.contains("ACCESS_REFUSED"), "the ingest user published to cairn.tasks: \(forged)")
        let byAPI = await Self.outcome { try await environment.withAMQP(as: api, topology: .init()) { try await $0.publish([event.message]) } }
        #expect(byAPI.contains("ACCESS_REFUSED"), "the api user published to cairn.events: \(byAPI)")
        // The ingest user's full topology declaration (what `cairn ingest` does on connect) is allowed.
        let declared = await Self.outcome { try await environment.withAMQP(as: ingest) { try await $0.declare(CairnTopology.core) } }
        #expect(declared == "ok")

        let stolen = try await environment.withAMQP(as: ingest, topology: .init()) {
            await $0.peekEvents(count: 1, timeout: .seconds(3))
        }
        #expect(stolen.isEmpty, "the ingest user consumed a work queue")
        // The message was there to take: the worker's user gets it, and the forged task never reached a queue.
        let work = try await environment.withAMQP(as: worker, topology: .init()) {
            await $0.peekEvents(count: 1, timeout: .seconds(30))
        }
        let outreach = try await environment.withAMQP { await $0.peek(queue: CairnTopology.outreach, count: 1, timeout: .milliseconds(500)) }
        #expect(work.compactMap(\.messageID) == ["allowed"])
        #expect(outreach.isEmpty)
        await environment.tearDown()
    }
}
