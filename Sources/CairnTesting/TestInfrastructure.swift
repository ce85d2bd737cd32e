public import CairnAMQP
public import CairnCore
public import CairnStore
public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
public import Logging
import PostgresNIO

/// Where the test servers are, from the environment `scripts/test` sets, with its defaults.
public enum TestInfrastructure {
    public static var environment: [String: String] { ProcessInfo.processInfo.environment }
    public static var amqpURL: String { environment["CAIRN_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5673/%2f" }
    public static var managementURL: String { environment["CAIRN_TEST_AMQP_MANAGEMENT_URL"] ?? "http://guest:guest@127.0.0.1:15673" }
    public static var databaseURL: String { environment["CAIRN_TEST_DATABASE_URL"] ?? "postgres://cairn:cairn@127.0.0.1:5433/cairn" }
    /// The built `cairn` executable.
    public static var binary: String { environment["CAIRN_BIN"] ?? ".build/debug/cairn" }
    /// Where processes' logs (and other evidence) are kept after a run.
    public static var artifacts: URL {
        URL(fileURLWithPath: environment["CAIRN_TEST_ARTIFACTS"] ?? "test-artifacts", isDirectory: true)
    }

    public static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: environment["LOG_LEVEL"] ?? "") ?? .warning
        return logger
    }
}

/// Where a RabbitMQ and a PostgreSQL server answer: the shared test servers, or a private pair a test starts.
public struct TestServers: Sendable {
    public var amqpURL: String
    public var managementURL: String
    public var databaseURL: String

    public init(amqpURL: String, managementURL: String, databaseURL: String) {
        self.amqpURL = amqpURL
        self.managementURL = managementURL
        self.databaseURL = databaseURL
    }

    /// The servers `scripts/test` started for every test.
    public static var shared: TestServers {
        TestServers(
            amqpURL: TestInfrastructure.amqpURL, managementURL: TestInfrastructure.managementURL,
            databaseURL: TestInfrastructure.databaseURL)
    }
}

/// A RabbitMQ virtual host and a PostgreSQL database of its own, so tests never see each other's messages or rows.
public struct IsolatedEnvironment: Sendable {
    public let name: String
    public let amqp: AMQPConfiguration
    public let database: DatabaseConfiguration
    let managementURL: URL
    let adminDatabaseURL: String

    /// Creates the vhost and the database, and migrates the database (through `schema`, when given: an older schema).
    public static func make(_ label: String, on servers: TestServers = .shared, schema: Int = .max) async throws -> IsolatedEnvironment {
        let name = "\(label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(24))_\(UUID().uuidString.prefix(8).lowercased())"
        guard let management = URL(string: servers.managementURL) else { throw TestError("bad management URL") }
        var amqp = try AMQPConfiguration(url: servers.amqpURL)
        amqp.virtualHost = "cairn-test-\(name)"
        try await Management(base: management).put("/api/vhosts/\(amqp.virtualHost)", body: "{}")
        try await Management(base: management).put(
            "/api/permissions/\(amqp.virtualHost)/\(amqp.user)", body: #"{"configure":".*","write":".*","read":".*"}"#)

        let admin = try DatabaseConfiguration(url: servers.databaseURL)
        let database = admin.with(database: "cairn_test_\(name)")
        try await withStore(admin) { store in
            _ = try await store.client.query(PostgresQuery(unsafeSQL: #"CREATE DATABASE "\#(database.database)""#))
        }
        _ = try await withStore(database) { try await $0.migrate(through: schema) }
        return IsolatedEnvironment(
            name: name, amqp: amqp, database: database, managementURL: management, adminDatabaseURL: servers.databaseURL)
    }

    /// Deletes the vhost, the broker users made for it, and the database.
    public func tearDown() async {
        let management = Management(base: managementURL)
        for user in (try? await management.userNames()) ?? [] where user.hasSuffix("-\(name)") {
            _ = try? await management.delete("/api/users/\(user)")
        }
        _ = try? await management.delete("/api/vhosts/\(amqp.virtualHost)")
        if let admin = try? DatabaseConfiguration(url: adminDatabaseURL) {
            _ = try? await Self.withStore(admin) { store in
                _ = try await store.client.query(PostgresQuery(unsafeSQL: #"DROP DATABASE IF EXISTS "\#(database.database)" WITH (FORCE)"#))
            }
        }
    }

    /// Waits until the management API lists at least one client connection of this vhost (it lists a connection
    /// once its first statistics are in, a few seconds after it opened). Returns their names.
    @discardableResult
    public func awaitConnections() async throws -> [String] {
        let management = Management(base: managementURL)
        for _ in 0..<150 {
            let names = try await management.connectionNames(virtualHost: amqp.virtualHost)
            if !names.isEmpty { return names }
            try await Task.sleep(for: .milliseconds(100))
        }
        return []
    }

    /// Has the broker close every client connection of this vhost, as a broker restart or a network cut would.
    /// Returns how many were closed. The management API lists a connection until its statistics expire, so a
    /// listed connection may be gone already (a DELETE then answers 404): those do not count, and the listing is
    /// looked at again until at least one live connection was closed or 15 s have passed.
    public func closeConnections() async throws -> Int {
        let management = Management(base: managementURL)
        var closed = 0
        for _ in 0..<150 {
            for name in try await management.connectionNames(virtualHost: amqp.virtualHost)
            where try await management.deleteIfPresent("/api/connections/\(name)") {
                closed += 1
            }
            if closed > 0 { return closed }
            try await Task.sleep(for: .milliseconds(100))
        }
        return closed
    }

    /// A broker user of this test, with permissions on this vhost only (as deploy/rabbitmq/definitions.json grants).
    public struct BrokerUser: Sendable {
        public let name: String
        public let password: String
    }

    /// Creates a broker user (users are broker-wide: the name carries this environment's name) with `configure`,
    /// `write` and `read` permission regexes on this vhost. `tearDown()` deletes it.
    public func makeBrokerUser(_ role: String, configure: String, write: String, read: String) async throws -> BrokerUser {
        let user = BrokerUser(name: "\(role)-\(name)", password: UUID().uuidString)
        let management = Management(base: managementURL)
        try await management.put("/api/users/\(user.name)", body: Self.json(["password": user.password, "tags": ""]))
        try await management.put(
            "/api/permissions/\(amqp.virtualHost)/\(user.name)",
            body: Self.json(["configure": configure, "write": write, "read": read]))
        return user
    }

    /// Imports exchanges, queues and bindings (a RabbitMQ definitions document's vhost part) into this vhost, and returns
    /// once the broker lists every queue of the document. An import answered 2xx on a loaded broker once left a quorum
    /// queue undeclared (a role declaring it then needed the permissions of a first declaration, and was refused), so
    /// the import is posted again (it is idempotent) every 10 s until all are there, for at most 120 s.
    public func importDefinitions(_ document: [String: Any]) async throws {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        let management = Management(base: managementURL)
        let expected = Set((document["queues"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        let deadline = ContinuousClock.now + .seconds(120)
        var missing = expected
        while ContinuousClock.now < deadline {
            try await management.post("/api/definitions/\(amqp.virtualHost)", body: body)
            let posted = ContinuousClock.now
            while ContinuousClock.now < min(posted + .seconds(10), deadline) {
                missing = expected.subtracting(try await management.queueNames(virtualHost: amqp.virtualHost))
                if missing.isEmpty { return }
                try await Task.sleep(for: .milliseconds(200))
            }
            TestInfrastructure.logger("cairn.test.infra").warning(
                "definitions imported but queues missing; importing again", metadata: ["queues": "\(missing.sorted())"])
        }
        throw TestError("definitions imported into \(amqp.virtualHost) for 120 s; the broker still lacks \(missing.sorted())")
    }

    private static func json(_ object: [String: String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }

    /// The environment a `cairn` process needs to work in this isolated environment.
    /// - Parameter brokerUser: the broker user the role logs in as; the test servers' administrator when nil.
    public func processEnvironment(ingestPort: Int = 0, apiPort: Int = 0, brokerUser: BrokerUser? = nil) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let vhost = amqp.virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? amqp.virtualHost
        let (user, password) = brokerUser.map { ($0.name, $0.password) } ?? (amqp.user, amqp.password)
        // Every node of a cluster, in order (one URL for a single broker).
        environment["CAIRN_AMQP_URL"] = amqp.endpoints.map { "amqp://\(user):\(password)@\($0.host):\($0.port)/\(vhost)" }
            .joined(separator: ",")
        environment["CAIRN_DATABASE_URL"] = database.url
        if ingestPort > 0 { environment["CAIRN_INGEST_PORT"] = String(ingestPort) }
        if apiPort > 0 { environment["CAIRN_API_PORT"] = String(apiPort) }
        environment["LOG_LEVEL"] = environment["LOG_LEVEL"] ?? "info"
        return environment
    }

    /// Runs `body` with a store on this environment's database.
    /// - Parameter engine: the customer-success model the store applies (playbooks, roster, ...).
    public func withStore<Result: Sendable>(
        engine: EngineConfiguration = .standard, _ body: @Sendable (Store) async throws -> Result
    ) async throws -> Result {
        try await Self.withStore(database, engine: engine, body)
    }

    static func withStore<Result: Sendable>(
        _ configuration: DatabaseConfiguration, engine: EngineConfiguration = .standard,
        _ body: @Sendable (Store) async throws -> Result
    ) async throws -> Result {
        // A short-lived pool: its "used before run()" warning is noise here.
        var logger = TestInfrastructure.logger("cairn.test.store")
        logger.logLevel = .error
        let store = Store(configuration: configuration, engine: engine, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.client.run() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    /// Runs `body` with a connection to this environment's vhost (the contract topology declared).
    /// - Parameters:
    ///   - brokerUser: log in as this user instead of the administrator.
    ///   - topology: what the connection declares on connect.
    public func withAMQP<Result: Sendable>(
        as brokerUser: BrokerUser? = nil, topology: AMQPTopology = CairnTopology.core,
        _ body: @Sendable (AMQPConnection) async throws -> Result
    ) async throws -> Result {
        var configuration = amqp
        if let brokerUser {
            configuration.user = brokerUser.name
            configuration.password = brokerUser.password
        }
        let connection = AMQPConnection(
            configuration: configuration, topology: topology, logger: TestInfrastructure.logger("cairn.test.amqp"))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            defer { connection.close() }
            return try await body(connection)
        }
    }
}

/// A client connection as the broker's management API lists it.
public struct BrokerConnection: Sendable {
    public let name: String
    /// True when the client came in over TLS.
    public let tls: Bool
    /// The subject of the client's certificate, when it showed one.
    public let peerCertificateSubject: String?
    /// The cluster node the client is connected to.
    public let node: String
}

extension IsolatedEnvironment {
    /// The broker's connections to this environment's vhost.
    public func brokerConnections() async throws -> [BrokerConnection] {
        try await Management(base: managementURL).connections(virtualHost: amqp.virtualHost)
    }
}

/// Where a quorum queue's replicas are, as the broker's management API reports them.
public struct QuorumMembership: Sendable {
    /// The nodes holding a replica.
    public let members: [String]
    /// The members that answer.
    public let online: [String]
    public let leader: String
    /// Messages waiting for a consumer, and the consumers, as the broker last reported them.
    public let ready: Int
    public let consumers: Int
}

extension IsolatedEnvironment {
    /// The replicas of the quorum queue `queue` in this environment's vhost.
    public func quorumMembership(of queue: String) async throws -> QuorumMembership {
        let data = try await Management(base: managementURL).get("/api/queues/\(amqp.virtualHost)/\(queue)")
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return QuorumMembership(
            members: object["members"] as? [String] ?? [], online: object["online"] as? [String] ?? [],
            leader: object["leader"] as? String ?? "", ready: object["messages_ready"] as? Int ?? 0,
            consumers: object["consumers"] as? Int ?? 0)
    }
}

extension IsolatedEnvironment {
    /// The prefetch count of each consumer on `queue` in this environment's vhost, as the broker reports it.
    public func consumerPrefetchCounts(on queue: String) async throws -> [Int] {
        let data = try await Management(base: managementURL).get("/api/consumers/\(amqp.virtualHost)")
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.filter { (($0["queue"] as? [String: Any])?["name"] as? String) == queue }
            .compactMap { $0["prefetch_count"] as? Int }
    }
}

/// A consumer of a queue, as the broker's management API reports it.
public struct BrokerConsumer: Sendable, Hashable {
    public let queue: String
    /// The connection it came on (the broker's name for it: client and server address).
    public let connection: String
    /// On a single-active-consumer queue, whether this is the one the broker delivers to (false: waiting).
    public let active: Bool
}

extension IsolatedEnvironment {
    /// Every consumer in this environment's vhost. The management API lists a consumer once its statistics are in
    /// (every few seconds), so poll.
    public func consumers() async throws -> [BrokerConsumer] {
        let data = try await Management(base: managementURL).get("/api/consumers/\(amqp.virtualHost)")
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.compactMap { consumer in
            guard let queue = (consumer["queue"] as? [String: Any])?["name"] as? String,
                let connection = (consumer["channel_details"] as? [String: Any])?["connection_name"] as? String
            else { return nil }
            return BrokerConsumer(queue: queue, connection: connection, active: consumer["active"] as? Bool ?? true)
        }
    }
}

/// The RabbitMQ management HTTP API, for creating and deleting test vhosts.
struct Management {
    let base: URL

    func put(_ path: String, body: String) async throws {
        _ = try await send("PUT", path, body: body)
    }

    func delete(_ path: String) async throws {
        _ = try await send("DELETE", path, body: nil)
    }

    /// Deletes what `path` names; false when it was not there (404), which is not an error here.
    func deleteIfPresent(_ path: String) async throws -> Bool {
        do {
            _ = try await send("DELETE", path, body: nil)
            return true
        } catch let error as ManagementStatusError where error.status == 404 {
            return false
        }
    }

    func post(_ path: String, body: String) async throws {
        _ = try await send("POST", path, body: body)
    }

    func get(_ path: String) async throws -> Data {
        try await send("GET", path, body: nil)
    }

    func userNames() async throws -> [String] {
        let list = try JSONSerialization.jsonObject(with: try await send("GET", "/api/users", body: nil)) as? [[String: Any]] ?? []
        return list.compactMap { $0["name"] as? String }
    }

    func queueNames(virtualHost: String) async throws -> Set<String> {
        let list = try JSONSerialization.jsonObject(with: try await send("GET", "/api/queues/\(virtualHost)", body: nil)) as? [[String: Any]] ?? []
        return Set(list.compactMap { $0["name"] as? String })
    }

    func connectionNames(virtualHost: String) async throws -> [String] {
        try await connections(virtualHost: virtualHost).map(\.name)
    }

    func connections(virtualHost: String) async throws -> [BrokerConnection] {
        let data = try await send("GET", "/api/vhosts/\(virtualHost)/connections", body: nil)
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.compactMap { entry in
            guard let name = entry["name"] as? String else { return nil }
            return BrokerConnection(
                name: name, tls: entry["ssl"] as? Bool ?? false, peerCertificateSubject: entry["peer_cert_subject"] as? String,
                node: entry["node"] as? String ?? "")
        }
    }

    @discardableResult
    private func send(_ method: String, _ path: String, body: String?) async throws -> Data {
        let encoded = path.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-_."))) ?? String($0)
        }.joined(separator: "/")
        var components = URLComponents(url: base, resolvingAgainstBaseURL: false)!
        let (user, password) = (components.user ?? "guest", components.password ?? "guest")
        components.user = nil
        components.password = nil
        components.percentEncodedPath = encoded
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        request.setValue("Basic \(Data("\(user):\(password)".utf8).base64EncodedString())", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body.map { Data($0.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) else {
            throw ManagementStatusError(
                status: (response as? HTTPURLResponse)?.statusCode ?? 0,
                description: "management API \(method) \(path) failed: \(response)")
        }
        return data
    }
}

/// A management API answer outside 2xx.
struct ManagementStatusError: Error, CustomStringConvertible {
    let status: Int
    let description: String
}

public struct TestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
