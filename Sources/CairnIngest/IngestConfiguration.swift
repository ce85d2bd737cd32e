public import CairnHTTP
import Foundation

/// Settings of the ingest role.
public struct IngestConfiguration: Sendable {
    /// A write key as ingest keeps it: its SHA-256 digest and the source it names.
    public struct WriteKey: Sendable {
        public let digest: SecretDigest
        public let source: String

        public init(digest: SecretDigest, source: String) {
            self.digest = digest
            self.source = source
        }
    }

    /// The keys a request may present. Only digests: a presented key is hashed and compared in constant time.
    public var writeKeys: [WriteKey]
    public var host = "127.0.0.1"
    public var port = 8081
    /// Events per second each write key may send (`CAIRN_INGEST_RATE_LIMIT`); 0 means no limit.
    public var rateLimit: Double = 5_000
    /// How much unused allowance a key may save up, in seconds of `rateLimit` (the burst).
    public var rateBurst: Duration = .seconds(2)
    /// On the stream clock (`CAIRN_CLOCK=stream`), an event arrives at its sender's `sentAt` instead of ingest's
    /// wall-clock time, which means nothing there, and its timestamp is not corrected for skew (see
    /// `SegmentMessage.translate`). `receivedAt` tells the engine how late it learned of what an event says.
    public var streamClock = false

    public init(writeKeys: [WriteKey]) {
        self.writeKeys = writeKeys
    }

    /// Parses one entry of `CAIRN_WRITE_KEYS` (or of a line of `CAIRN_WRITE_KEYS_FILE`): `key`, `key:source`,
    /// `sha256:<64 hex digits>` or `sha256:<64 hex digits>:source`. The source defaults to `default`.
    public static func parseWriteKey(_ entry: some StringProtocol) throws(SecretEntryError) -> WriteKey {
        let text = entry.trimmingCharacters(in: .whitespaces)
        let secret: Substring
        let source: Substring?
        if text.hasPrefix(SecretDigest.prefix) {
            let hashed = text.dropFirst(SecretDigest.prefix.count)
            secret = text.prefix(SecretDigest.prefix.count + min(64, hashed.count))
            let rest = hashed.dropFirst(64)
            guard rest.isEmpty || rest.hasPrefix(":") else {
                throw SecretEntryError("an entry starting with sha256: must be sha256: followed by 64 hexadecimal digits")
            }
            source = rest.isEmpty ? nil : rest.dropFirst()
        } else {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            secret = parts[0]
            source = parts.count > 1 ? parts[1] : nil
        }
        guard !secret.trimmingCharacters(in: .whitespaces).isEmpty else { throw SecretEntryError("empty write key") }
        let digest = try SecretDigest.parseEntry(secret)
        let name = source?.trimmingCharacters(in: .whitespaces) ?? ""
        return WriteKey(digest: digest, source: name.isEmpty ? "default" : name)
    }
}
