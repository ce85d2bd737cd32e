import CairnAMQP
import CairnStore
import CairnTesting
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

/// TLS against the test servers' TLS listeners (`scripts/test` starts them with `CAIRN_TLS=1`): RabbitMQ on AMQPS,
/// asking every client for a certificate signed by the local CA, and PostgreSQL with `ssl=on`. The certificates
/// name `localhost` only, so connecting to 127.0.0.1 is a host-name mismatch.
@Suite("TLS to RabbitMQ and PostgreSQL")
struct TLSTests {
    static func setting(_ name: String) throws -> String {
        guard let value = TestInfrastructure.environment[name], !value.isEmpty else {
            throw TestError("\(name) is not set: run the tests with scripts/test, which starts the TLS listeners")
        }
        return value
    }

    static func file(_ name: String) throws -> String { try setting("CAIRN_TEST_TLS_DIR") + "/" + name }

    /// The AMQPS URL of the test broker with these query parameters (the client certificate's by default).
    static func amqps(host: String = "localhost", _ query: String? = nil) throws -> String {
        let base = try #require(URLComponents(string: try setting("CAIRN_TEST_AMQPS_URL")))
        let parameters = try query
            ?? "cacertfile=\(file("ca.pem"))&certfile=\(file("client.pem"))&keyfile=\(file("client.key"))"
        return "amqps://guest:guest@\(host):\(base.port ?? 5671)/%2f?\(parameters)"
    }

    @Test("amqps with the local CA and a client certificate: messages go through, and the broker sees TLS and the certificate")
    func amqpsRoundTrip() async throws {
        let environment = try await IsolatedEnvironment.make("tls-amqps")
        defer { Task { await environment.tearDown() } }
        for query in [nil, "verify=verify_none&certfile=\(try Self.file("client.pem"))&keyfile=\(try Self.file("client.key"))"] {
            var configuration = try AMQPConfiguration(url: try Self.amqps(query))
            configuration.virtualHost = environment.amqp.virtualHost
            let queue = "tls-\(UUID().uuidString.prefix(8))"
            let connection = AMQPConnection(
                configuration: configuration, topology: AMQPTopology(queues: [AMQPQueue(queue)]),
                logger: TestInfrastructure.logger("cairn.test.tls"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.run() }
                defer { connection.close() }
                try await connection.publishConfirmed(AMQPMessage(exchange: "", routingKey: queue, body: Array("over TLS".utf8)))
                let got = try await connection.get(queue: queue)
                #expect(got.map { String(decoding: $0.delivery.body, as: UTF8.self) } == "over TLS", "\(query ?? "verify_peer")")
                var seen: [BrokerConnection] = []
                #expect(await eventually(timeout: .seconds(30)) {
                    seen = (try? await environment.brokerConnections()) ?? []
                    return !seen.isEmpty
                })
                let allTLS = seen.allSatisfy { $0.tls }
                #expect(allTLS, "\(seen)")
                #expect(seen.contains { $0.peerCertificateSubject?.contains("cairn-client") == true }, "\(seen)")
            }
        }
    }

    @Test(
        "amqps refuses a wrong CA, a host the certificate does not name, and a client without a certificate; nothing is sent",
        arguments: ["other CA", "host name", "no client certificate", "plain AMQP to the TLS port"])
    func amqpsRefusals(_ fault: String) async throws {
        let url: String
        switch fault {
        case "other CA": url = try Self.amqps("cacertfile=\(Self.file("other-ca.pem"))&certfile=\(Self.file("client.pem"))&keyfile=\(Self.file("client.key"))")
        case "host name": url = try Self.amqps(host: "127.0.0.1")
        case "no client certificate": url = try Self.amqps("cacertfile=\(Self.file("ca.pem"))")
        default:
            let port = try #require(URLComponents(string: try Self.setting("CAIRN_TEST_AMQPS_URL"))?.port)
            url = "amqp://guest:guest@localhost:\(port)/%2f?connection_timeout=2000"
        }
        let failures = FailureLog()
        let connection = AMQPConnection(
            configuration: try AMQPConfiguration(url: url), topology: AMQPTopology(),
            logger: Logger(label: "cairn.test.tls") { _ in failures })
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            defer { connection.close() }
            // Two failed attempts in a row (the second after the reconnect backoff), and never connected.
            #expect(await eventually(timeout: .seconds(60)) { failures.errors.count >= 2 }, "\(fault)")
            #expect(!connection.isConnected)
            #expect(failures.connected == 0, "\(fault): \(failures.errors)")
            let error = await #expect(throws: AMQPError.self) {
                try await connection.publish(AMQPMessage(exchange: "", routingKey: "nowhere", body: [1]))
            }
            #expect(error?.isTransient == true)
            if fault == "other CA" {
                #expect(failures.errors.allSatisfy { $0.contains("verification failed") }, "\(failures.errors)")
            }
            if fault == "host name" {
                #expect(failures.errors.allSatisfy { $0.contains("hostname verification failed") }, "\(failures.errors)")
            }
        }
    }

    /// Whether the server says this session is encrypted, and with which protocol.
    static func serverSideTLS(_ url: String) async throws -> (Bool, String?) {
        let connection = try await DatabaseConfiguration(url: url).connect(logger: TestInfrastructure.logger("cairn.test.tls"))
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: connection.logger)
        for try await (ssl, version) in rows.decode((Bool, String?).self) { return (ssl, version) }
        throw TestError("pg_stat_ssl has no row for this session")
    }

    @Test("sslmode verify-full, verify-ca and require encrypt; disable does not; the server confirms each")
    func postgresModes() async throws {
        let secure = try Self.setting("CAIRN_TEST_DATABASE_TLS_URL")  // verify-full with the local CA, via localhost
        let components = try #require(URLComponents(string: secure))
        let port = try #require(components.port)
        let root = try Self.file("ca.pem")
        let cases: [(url: String, encrypted: Bool)] = [
            (secure, true),
            ("postgres://cairn:cairn@127.0.0.1:\(port)/cairn?sslmode=verify-ca&sslrootcert=\(root)", true),
            ("postgres://cairn:cairn@127.0.0.1:\(port)/cairn?sslmode=require", true),
            ("postgres://cairn:cairn@127.0.0.1:\(port)/cairn?sslmode=prefer", true),
            ("postgres://cairn:cairn@127.0.0.1:\(port)/cairn?sslmode=disable", false),
        ]
        for (url, encrypted) in cases {
            let (ssl, version) = try await Self.serverSideTLS(url)
            #expect(ssl == encrypted, "\(url)")
            if encrypted { #expect(version?.hasPrefix("TLSv1.") == true, "\(url): \(version ?? "-")") }
        }
    }

    @Test("sslmode verify-full refuses a wrong CA and a host the certificate does not name; verify-ca checks the CA")
    func postgresRefusals() async throws {
        let port = try #require(URLComponents(string: try Self.setting("CAIRN_TEST_DATABASE_TLS_URL"))?.port)
        let (root, other) = (try Self.file("ca.pem"), try Self.file("other-ca.pem"))
        for url in [
            "postgres://cairn:cairn@localhost:\(port)/cairn?sslmode=verify-full&sslrootcert=\(other)",
            "postgres://cairn:cairn@127.0.0.1:\(port)/cairn?sslmode=verify-full&sslrootcert=\(root)",
            "postgres://cairn:cairn@localhost:\(port)/cairn?sslmode=verify-ca&sslrootcert=\(other)",
            "postgres://cairn:cairn@localhost:\(port)/cairn?sslmode=require&sslrootcert=\(other)",
        ] {
            await #expect(throws: (any Error).self, "\(url)") { _ = try await Self.serverSideTLS(url) }
        }
    }
}

/// Counts an AMQP connection's connects and keeps the errors of its failed attempts, from its log.
final class FailureLog: LogHandler, Sendable {
    private let state = Mutex<(connected: Int, errors: [String])>((0, []))
    var connected: Int { state.withLock { $0.connected } }
    var errors: [String] { state.withLock { $0.errors } }

    func log(event: LogEvent) {
        let message = "\(event.message)"
        state.withLock { state in
            if message == "AMQP connected" { state.connected += 1 }
            if message.hasPrefix("AMQP connection failed") { state.errors.append(event.metadata?["error"].map { "\($0)" } ?? message) }
        }
    }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .info }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
}
