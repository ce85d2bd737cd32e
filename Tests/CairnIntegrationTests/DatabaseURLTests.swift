import CairnStore
import Foundation
import PostgresNIO
import Testing

/// `CAIRN_DATABASE_URL` is parsed without connecting.
@Suite("Database URL")
struct DatabaseURLTests {
    @Test("pool_max_conns sets the pool's size; without it the pool follows the cores; a bad value is refused by name")
    func poolSize() throws {
        let base = "postgres://cairn:se%2Fcret@db.example:6543/cairn"
        let plain = try DatabaseConfiguration(url: base)
        #expect(plain.maximumConnections == DatabaseConfiguration.defaultMaximumConnections)
        #expect((4...16).contains(plain.maximumConnections))
        #expect((plain.host, plain.port, plain.user, plain.password, plain.database) == ("db.example", 6543, "cairn", "se/cret", "cairn"))
        let sized = try DatabaseConfiguration(url: base + "?sslmode=disable&pool_max_conns=3")
        #expect(sized.maximumConnections == 3)
        #expect(sized.clientConfiguration.options.maximumConnections == 3)
        for bad in ["0", "-1", "many", "1001", ""] {
            let error = #expect(throws: StoreError.self, "pool_max_conns=\(bad)") {
                try DatabaseConfiguration(url: base + "?pool_max_conns=\(bad)")
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("pool_max_conns must be"), "\(String(describing: error))")
        }
    }

    @Test("sslmode takes libpq's modes; sslrootcert must be readable and needs a mode that uses it; both survive url")
    func sslModes() throws {
        let base = "postgres://cairn:secret@db.example/cairn"
        #expect(try DatabaseConfiguration(url: base).sslMode == .disable)
        for mode in DatabaseConfiguration.SSLMode.allCases {
            let configuration = try DatabaseConfiguration(url: base + "?sslmode=\(mode.rawValue)")
            #expect(configuration.sslMode == mode)
            #expect(try DatabaseConfiguration(url: configuration.url).sslMode == mode)
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-root-\(UUID().uuidString).pem")
        try "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".write(to: root, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: root) }
        let verified = try DatabaseConfiguration(url: base + "?sslmode=verify-full&sslrootcert=\(root.path)")
        #expect(verified.sslRootCertificate == root.path)
        #expect(try DatabaseConfiguration(url: verified.url).sslRootCertificate == root.path)
        #expect(verified.redactedURL == "postgres://cairn@db.example:5432/cairn?sslmode=verify-full&sslrootcert=\(root.path)")
        let cases: [(query: String, reason: String)] = [
            ("sslmode=verify_full", "sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full"),
            ("sslmode=", "sslmode must be one of"),
            ("sslmode=verify-full&sslrootcert=/nonexistent/root.pem", "sslrootcert: cannot read /nonexistent/root.pem"),
            ("sslmode=verify-ca&sslrootcert=", "sslrootcert: cannot read an empty path"),
            ("sslrootcert=\(root.path)", "sslrootcert needs sslmode=verify-full, verify-ca or require, not disable"),
            ("sslmode=prefer&sslrootcert=\(root.path)", "not prefer"),
        ]
        for (query, reason) in cases {
            let error = #expect(throws: StoreError.self, "\(query)") { try DatabaseConfiguration(url: base + "?" + query) }
            #expect("\(error.map { "\($0)" } ?? "")".contains(reason), "\(query): \(String(describing: error))")
            #expect(!"\(error.map { "\($0)" } ?? "")".contains("secret"))
        }
    }
}
