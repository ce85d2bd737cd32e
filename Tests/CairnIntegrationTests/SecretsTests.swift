import CairnApp
import CairnHTTP
@testable import CairnIngest
import CairnTesting
import Foundation
import Testing

/// Write keys and API tokens are kept only as SHA-256 digests; settings accept plaintext or `sha256:<hex>` entries,
/// inline or from a file, and a bad entry names where it is without echoing it.
@Suite("Secrets")
struct SecretsTests {
    static let abcDigest = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    func load(_ environment: [String: String]) throws -> CairnSettings { try CairnSettings(environment: environment) }

    func settingsError(_ environment: [String: String]) -> String? {
        do {
            _ = try load(environment)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func file(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-keys-\(UUID().uuidString)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("A digest is SHA-256, printed as sha256:<hex>, read back, and matches only its secret")
    func digestRoundTrip() throws {
        let digest = SecretDigest(hashing: "abc")
        #expect(digest.encoded == Self.abcDigest)
        #expect(SecretDigest(encoded: Self.abcDigest) == digest)
        #expect(SecretDigest(encoded: Self.abcDigest.uppercased().replacingOccurrences(of: "SHA256:", with: "sha256:")) == digest)
        #expect(digest.matches("abc"))
        #expect(!digest.matches("abd"))
        #expect(!digest.matches(""))
        #expect(!"\(digest)".contains("ba7816"))
        #expect(SecretDigest(encoded: "sha256:abc") == nil)
        #expect(SecretDigest(encoded: "sha256:" + String(repeating: "g", count: 64)) == nil)
        #expect(Credentials.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Credentials.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Credentials.constantTimeEquals([1, 2, 3], [1, 2]))
    }

    @Test("Plaintext, hashed and sourced write keys and tokens are kept as digests")
    func entriesAreHashed() throws {
        let settings = try load([
            "CAIRN_WRITE_KEYS": "k1:billing, \(Self.abcDigest):crm,k3,\(Self.abcDigest.dropLast(1))f",
            "CAIRN_API_TOKENS": "t1,\(Self.abcDigest)",
        ])
        #expect(settings.writeKeys.map(\.source) == ["billing", "crm", "default", "default"])
        #expect(settings.writeKeys[0].digest.matches("k1"))
        #expect(settings.writeKeys[1].digest.matches("abc"))
        #expect(settings.writeKeys[2].digest == SecretDigest(hashing: "k3"))
        #expect(settings.apiTokens == [SecretDigest(hashing: "t1"), SecretDigest(hashing: "abc")])
        #expect(settings.ingestRateLimit == 5_000)
        let defaults = try load([:])
        #expect(defaults.writeKeys.first?.digest.matches("dev-write-key") == true)
        #expect(defaults.apiTokens.first?.matches("dev-api-token") == true)
    }

    @Test("Secrets files: one entry a line, comments and blank lines skipped")
    func secretsFiles() throws {
        let keys = try file("# ingest keys\n\nk1:billing\n  \(Self.abcDigest):crm  \n# old: k0\n")
        let tokens = try file("\(Self.abcDigest)\r\ntoken-2\r\n")
        defer { try? FileManager.default.removeItem(at: keys); try? FileManager.default.removeItem(at: tokens) }
        let settings = try load(["CAIRN_WRITE_KEYS_FILE": keys.path, "CAIRN_API_TOKENS_FILE": tokens.path])
        #expect(settings.writeKeys.map(\.source) == ["billing", "crm"])
        #expect(settings.writeKeys[1].digest.matches("abc"))
        #expect(settings.apiTokens == [SecretDigest(hashing: "abc"), SecretDigest(hashing: "token-2")])
    }

    @Test("A bad entry is an error naming the variable, entry, or file and line, and never the secret")
    func badEntries() throws {
        let bad = try file("k1:billing\n# fine\nsha256:not-hex-my-secret:crm\n")
        let empty = try file("# nothing but comments\n")
        defer { try? FileManager.default.removeItem(at: bad); try? FileManager.default.removeItem(at: empty) }
        let cases: [([String: String], String)] = [
            (["CAIRN_WRITE_KEYS": "good,sha256:abcdef-secret"], "CAIRN_WRITE_KEYS: entry 2: an entry starting with sha256:"),
            (["CAIRN_WRITE_KEYS": ":billing"], "CAIRN_WRITE_KEYS: entry 1: empty write key"),
            (["CAIRN_WRITE_KEYS": "\(Self.abcDigest)x"], "CAIRN_WRITE_KEYS: entry 1: an entry starting with sha256:"),
            (["CAIRN_WRITE_KEYS": " , "], "CAIRN_WRITE_KEYS: no write key given"),
            (["CAIRN_API_TOKENS": "ok,sha256:12"], "CAIRN_API_TOKENS: entry 2: an entry starting with sha256:"),
            (["CAIRN_WRITE_KEYS_FILE": bad.path], "CAIRN_WRITE_KEYS_FILE: \(bad.path):3: an entry starting with sha256:"),
            (["CAIRN_API_TOKENS_FILE": empty.path], "CAIRN_API_TOKENS_FILE: \(empty.path): no token given"),
            (["CAIRN_API_TOKENS_FILE": "no/such/tokens"], "CAIRN_API_TOKENS_FILE: no/such/tokens: cannot be read"),
            (["CAIRN_WRITE_KEYS": "k", "CAIRN_WRITE_KEYS_FILE": bad.path], "CAIRN_WRITE_KEYS_FILE: set CAIRN_WRITE_KEYS or CAIRN_WRITE_KEYS_FILE, not both"),
            (["CAIRN_INGEST_RATE_LIMIT": "fast"], "CAIRN_INGEST_RATE_LIMIT: must be a number of events per second"),
            (["CAIRN_INGEST_RATE_LIMIT": "-1"], "CAIRN_INGEST_RATE_LIMIT: must be a number of events per second"),
        ]
        for (environment, message) in cases {
            let error = settingsError(environment)
            #expect(error?.hasPrefix(message) == true, "\(environment): \(error ?? "no error")")
            #expect(error?.contains("secret") == false, "the secret is echoed: \(error ?? "")")
        }
    }

    @Test("cairn hash-secret prints the digest of standard input, one trailing line break removed")
    func hashSecretCommand() async throws {
        for input in ["abc", "abc\n", "abc\r\n"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: TestInfrastructure.binary)
            process.arguments = ["hash-secret"]
            let (stdin, stdout) = (Pipe(), Pipe())
            process.standardInput = stdin
            process.standardOutput = stdout
            try process.run()
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
            let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(output == Self.abcDigest + "\n", "\(input.debugDescription)")
        }
    }

    @Test("A token bucket allows its burst, refills at its rate, and lets an oversize request through only when full")
    func tokenBucket() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(rate: 10, capacity: 20, now: start)
        #expect(bucket.take(15, now: start) == nil)
        #expect(bucket.take(5, now: start) == nil)
        #expect(bucket.take(5, now: start) == .milliseconds(500))
        #expect(bucket.take(5, now: start + .milliseconds(500)) == nil)
        // Full again after 2 s; a request of 50 (more than the bucket holds) passes and leaves it 30 in debt.
        #expect(bucket.take(50, now: start + .seconds(3)) == nil)
        #expect(bucket.take(1, now: start + .seconds(3)) == .milliseconds(3100))
        #expect(bucket.take(1, now: start + .milliseconds(6100)) == nil)

        let limiter = RateLimiter(rate: 10, burst: .seconds(2))
        #expect(limiter.take(keyIndex: 0, cost: 20, now: start) == nil)
        #expect(limiter.take(keyIndex: 0, cost: 1, now: start) == 1)
        #expect(limiter.take(keyIndex: 1, cost: 20, now: start) == nil, "another key has its own bucket")
        #expect(RateLimiter(rate: 0, burst: .seconds(2)).take(keyIndex: 0, cost: 1_000_000) == nil, "0 is no limit")
    }
}
