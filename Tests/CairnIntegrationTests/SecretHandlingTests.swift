import CairnAMQP
import CairnCore
import CairnHTTP
import CairnTesting
import Foundation
import Testing

/// Ingest and API as processes: hashed secrets from files work, and no secret ever reaches a log line.
@Suite("Secret handling", .serialized)
struct SecretHandlingTests {
    @Test("Ingest and API take sha256 entries from files, refuse wrong secrets with 401, and log no secret at start or on a 401")
    func hashedSecretsAndQuietLogs() async throws {
        let environment = try await IsolatedEnvironment.make("secrets")
        let (writeKey, wrongKey) = ("wk-\(UUID().uuidString)", "guess-\(UUID().uuidString)")
        let (token, wrongToken) = ("tok-\(UUID().uuidString)", "guess-\(UUID().uuidString)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-keys-\(environment.name)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keysFile = directory.appendingPathComponent("write-keys")
        let tokensFile = directory.appendingPathComponent("api-tokens")
        try "# crm\n\(SecretDigest(hashing: writeKey).encoded):crm\n".write(to: keysFile, atomically: true, encoding: .utf8)
        try "\(SecretDigest(hashing: token).encoded)\n".write(to: tokensFile, atomically: true, encoding: .utf8)

        let (ingestPort, apiPort) = (try freePort(), try freePort())
        var processEnvironment = environment.processEnvironment(ingestPort: ingestPort, apiPort: apiPort)
        processEnvironment["CAIRN_WRITE_KEYS"] = nil
        processEnvironment["CAIRN_API_TOKENS"] = nil
        processEnvironment["CAIRN_WRITE_KEYS_FILE"] = keysFile.path
        processEnvironment["CAIRN_API_TOKENS_FILE"] = tokensFile.path
        processEnvironment["LOG_LEVEL"] = "trace"
        let ingest = try CairnProcess(["ingest"], environment: processEnvironment, logName: "ingest-\(environment.name)")
        let api = try CairnProcess(["api"], environment: processEnvironment, logName: "api-\(environment.name)")
        defer { ingest.kill(); api.kill() }
        #expect(await becomesReady(port: ingestPort), "\(ingest.log)")
        #expect(await becomesReady(port: apiPort, path: "/healthz"), "\(api.log)")

        let event = json(#"{"messageId":"s-1","event":"x","context":{"groupId":"acme"}}"#)
        #expect(try await http(port: ingestPort, path: "/v1/track", body: event, headers: ["Authorization": basicAuth(writeKey)]).status == 200)
        let refused = try await http(port: ingestPort, path: "/v1/track", body: event, headers: ["Authorization": basicAuth(wrongKey)])
        #expect(refused.status == 401)
        let inBody = json(#"{"writeKey":"\#(wrongKey)","event":"x","context":{"groupId":"acme"}}"#)
        #expect(try await http(port: ingestPort, path: "/v1/track", body: inBody).status == 401)
        // The digest itself is a credential nobody should present: it is not a key.
        let digestAsKey = try await http(
            port: ingestPort, path: "/v1/track", body: event, headers: ["Authorization": basicAuth(SecretDigest(hashing: writeKey).encoded)])
        #expect(digestAsKey.status == 401)

        #expect(try await http(port: apiPort, path: "/api/v1/accounts", headers: ["Authorization": "Bearer \(token)"]).status == 200)
        let denied = try await http(port: apiPort, path: "/api/v1/accounts", headers: ["Authorization": "Bearer \(wrongToken)"])
        #expect(denied.status == 401)
        let error = (try JSONSerialization.jsonObject(with: denied.body) as? [String: Any])?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "unauthorized")

        let queued = try await environment.withAMQP { await $0.peekEvents(count: 1, timeout: .seconds(30)) }
        #expect(queued.compactMap(\.messageID) == ["s-1"])
        #expect(await ingest.terminate() == 0)
        #expect(await api.terminate() == 0)
        let logs = ingest.log + api.log
        #expect(!logs.isEmpty)
        for secret in [writeKey, wrongKey, token, wrongToken, SecretDigest(hashing: writeKey).encoded, SecretDigest(hashing: token).encoded] {
            #expect(!logs.contains(secret), "a secret is in the logs")
        }
        for encoded in [writeKey, wrongKey, token, wrongToken].map({ Data("\($0):".utf8).base64EncodedString() }) {
            #expect(!logs.contains(encoded), "an Authorization header is in the logs")
        }
        await environment.tearDown()
    }
}
