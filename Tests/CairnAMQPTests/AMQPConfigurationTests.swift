import CairnAMQP
import Foundation
import Testing

@Suite("AMQP configuration")
struct AMQPConfigurationTests {
    @Test("A full URL gives host, port, credentials and the decoded vhost")
    func parsesURL() throws {
        let configuration = try AMQPConfiguration(url: "amqp://cairn:s%40cret@broker.internal:5673/cairn%2Fprod")
        #expect(configuration.host == "broker.internal")
        #expect(configuration.port == 5673)
        #expect(configuration.user == "cairn")
        #expect(configuration.password == "s@cret")
        #expect(configuration.virtualHost == "cairn/prod")
    }

    @Test("%2f and an empty path both mean the default vhost")
    func defaultVirtualHost() throws {
        #expect(try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:5672/%2f").virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://127.0.0.1").virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://127.0.0.1").port == 5672)
    }

    @Test("Bad URLs are refused without echoing the password", arguments: [
        "http://guest:hunter2@127.0.0.1/", "amqp://guest:hunter2@/x", "not a url", "amqp://guest:hunter2@h/a/b",
    ])
    func refusesBadURLs(url: String) {
        #expect { try AMQPConfiguration(url: url) } throws: { error in
            !"\(error)".contains("hunter2")
        }
    }

    @Test("The redacted URL has no password")
    func redacts() throws {
        #expect(try AMQPConfiguration(url: "amqp://u:p4ss@h:1/v").redactedURL == "amqp://u@h:1/v")
    }

    /// Files the TLS parameters point at (only their presence and, for keys, their PEM shape are checked here).
    struct Files {
        let directory: URL
        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-amqp-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
            try write("client.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
            try write("client.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
            try write("locked.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n")
            try write("legacy-locked.key", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMIIE\n-----END RSA PRIVATE KEY-----\n")
        }
        func write(_ name: String, _ text: String) throws {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test("amqps:// defaults to port 5671, verifies the broker with cacertfile, and takes a client certificate")
    func parsesTLS() throws {
        let files = try Files()
        defer { files.remove() }
        let url = "amqps://u:p@broker.internal/v?cacertfile=\(files.path("ca.pem"))&certfile=\(files.path("client.pem"))"
            + "&keyfile=\(files.path("client.key"))"
        let configuration = try AMQPConfiguration(url: url)
        #expect(configuration.port == 5671)
        #expect(configuration.redactedURL == "amqps://u@broker.internal:5671/v")
        #expect(configuration.tls?.caCertificateFile == files.path("ca.pem"))
        #expect(configuration.tls?.certificateFile == files.path("client.pem"))
        #expect(configuration.tls?.keyFile == files.path("client.key"))
        #expect(configuration.tls?.verification == .verifyPeer)
        let unverified = try AMQPConfiguration(url: "amqps://h:6000/?verify=verify_none")
        #expect(unverified.tls?.verification == .verifyNone)
        #expect(unverified.port == 6000)
        #expect(try AMQPConfiguration(url: "amqp://h/").tls == nil)
    }

    @Test("heartbeat and connection_timeout are read from the URL, and checked")
    func parsesTimings() throws {
        let configuration = try AMQPConfiguration(url: "amqp://h/?heartbeat=10&connection_timeout=2500")
        #expect(configuration.heartbeat == .seconds(10))
        #expect(configuration.connectTimeout == .milliseconds(2500))
        for bad in ["heartbeat=x", "heartbeat=-1", "heartbeat=3601", "connection_timeout=0", "connection_timeout=ms"] {
            #expect(throws: AMQPError.self, "\(bad)") { try AMQPConfiguration(url: "amqp://h/?\(bad)") }
        }
    }

    @Test("TLS mistakes are refused at start, each with its reason")
    func refusesBadTLS() throws {
        let files = try Files()
        defer { files.remove() }
        let (ca, cert, key) = (files.path("ca.pem"), files.path("client.pem"), files.path("client.key"))
        let cases: [(url: String, reason: String)] = [
            ("amqps://h/", "cacertfile=PATH"),
            ("amqp://h/?cacertfile=\(ca)", "needs an amqps:// URL"),
            ("amqp://h/?verify=verify_none", "needs an amqps:// URL"),
            ("amqps://h/?cacertfile=\(files.path("missing.pem"))", "cacertfile: cannot read"),
            ("amqps://h/?cacertfile=", "cacertfile: cannot read an empty path"),
            ("amqps://h/?cacertfile=\(ca)&certfile=\(cert)", "certfile and keyfile go together"),
            ("amqps://h/?cacertfile=\(ca)&keyfile=\(key)", "certfile and keyfile go together"),
            ("amqps://h/?cacertfile=\(ca)&certfile=\(cert)&keyfile=\(files.path("locked.key"))", "passphrase"),
            ("amqps://h/?cacertfile=\(ca)&certfile=\(cert)&keyfile=\(files.path("legacy-locked.key"))", "passphrase"),
            ("amqps://h/?cacertfile=\(ca)&certfile=\(cert)&keyfile=\(ca)", "no PEM private key"),
            ("amqps://h/?verify=maybe", "verify must be verify_peer or verify_none"),
            ("amqps://h/?verify=verify_none&verify=verify_peer", "given twice"),
            ("amqps://h/?verify=verify_none&cacert=\(ca)", "unknown URL parameter cacert"),
        ]
        expectRefused(cases)
    }

    /// Each URL is refused with a message containing its reason, and never containing `secret`.
    func expectRefused(_ cases: [(url: String, reason: String)], secret: String? = nil) {
        for (url, reason) in cases {
            let error = #expect(throws: AMQPError.self, "\(url)") { try AMQPConfiguration(url: url) }
            #expect(error?.message.contains(reason) == true, "\(url): \(String(describing: error))")
            if let secret { #expect(error?.message.contains(secret) != true, "\(secret) echoed: \(String(describing: error))") }
        }
    }

    @Test("A comma-separated list names a cluster's nodes, tried in order; a comma inside a password stays in it")
    func parsesClusterList() throws {
        let configuration = try AMQPConfiguration(
            url: "amqp://u:pa,ss@node1:5672/v?heartbeat=10,amqp://u:pa,ss@node2:5673/v?heartbeat=10,amqp://u:pa,ss@node3/v?heartbeat=10")
        #expect(configuration.password == "pa,ss")
        #expect(configuration.heartbeat == .seconds(10))
        #expect(configuration.endpoints == [
            AMQPEndpoint(host: "node1", port: 5672), AMQPEndpoint(host: "node2", port: 5673),
            AMQPEndpoint(host: "node3", port: 5672),
        ])
        let second = configuration.at(configuration.endpoints[1])
        #expect(second.redactedURL == "amqp://u@node2:5673/v")
        #expect(second.endpoints == [AMQPEndpoint(host: "node2", port: 5673)])
        #expect(try AMQPConfiguration(url: "amqp://u:p@h/v").endpoints == [AMQPEndpoint(host: "h", port: 5672)])
    }

    @Test("The nodes of one cluster may differ only in host and port")
    func refusesMixedClusterList() {
        let cases: [(url: String, reason: String)] = [
            ("amqp://u:p@a/v,amqp://u:other@b/v", "differ only in host and port"),
            ("amqp://u:p@a/v,amqp://x:p@b/v", "differ only in host and port"),
            ("amqp://u:p@a/v,amqp://u:p@b/w", "differ only in host and port"),
            ("amqp://u:p@a/v,amqp://u:p@b/v?heartbeat=5", "differ only in host and port"),
            ("amqp://u:p@a/v,amqps://u:p@b/v?verify=verify_none", "differ only in host and port"),
            ("amqp://u:p@a/v,amqp://u:p@a:5672/v", "named twice"),
            ("amqp://u:p@a/v,amqp://u:p@/v", "missing host"),
        ]
        expectRefused(cases, secret: "other")
    }

    @Test("Quorum queues carry the dead-letter exchange and a delivery limit")
    func quorumQueueArguments() {
        let queue = AMQPQueue.quorum("q", deadLetterExchange: "dlx", deliveryLimit: 5)
        #expect(queue.arguments["x-queue-type"] == .string("quorum"))
        #expect(queue.arguments["x-dead-letter-exchange"] == .string("dlx"))
        #expect(queue.arguments["x-delivery-limit"] == .int(5))
    }
}
