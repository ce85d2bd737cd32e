import Crypto
import Foundation

/// A secret (write key, API token) as Cairn keeps it in memory: only its SHA-256 digest.
///
/// A presented secret is hashed and its digest compared in constant time, so neither the plaintext nor the
/// position of a first differing byte is ever available to an attacker or a log line.
public struct SecretDigest: Sendable, Hashable {
    /// The 32 bytes of the SHA-256 digest.
    public let bytes: [UInt8]

    /// The prefix of an already-hashed entry: `sha256:<64 hex digits>`.
    public static let prefix = "sha256:"

    /// Hashes a plaintext secret.
    public init(hashing secret: String) {
        bytes = Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Reads `sha256:<64 hex digits>`; nil when `text` is not exactly that.
    public init?(encoded text: some StringProtocol) {
        guard text.hasPrefix(Self.prefix) else { return nil }
        let hex = Array(text.dropFirst(Self.prefix.count).utf8)
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.nibble(hex[index]), let low = Self.nibble(hex[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// `sha256:<64 lowercase hex digits>`, the form `cairn hash-secret` prints and the settings accept.
    public var encoded: String {
        let digits = Array("0123456789abcdef".utf8)
        return Self.prefix + String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }, as: UTF8.self)
    }

    /// Whether `presented` hashes to this digest, compared in constant time.
    public func matches(_ presented: String) -> Bool {
        Credentials.constantTimeEquals(bytes, SecretDigest(hashing: presented).bytes)
    }

    /// Whether `other` is this digest, compared in constant time.
    public func matches(_ other: SecretDigest) -> Bool {
        Credentials.constantTimeEquals(bytes, other.bytes)
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension SecretDigest: CustomStringConvertible {
    /// Never the digest itself: a description may end up in a log line.
    public var description: String { "SecretDigest(redacted)" }
}

/// A bad entry of a secrets list, by its position; the message never contains the secret.
public struct SecretEntryError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}

extension SecretDigest {
    /// Reads one entry of a secrets list: a plaintext secret, which is hashed at once, or `sha256:<64 hex digits>`.
    /// A secret may not itself begin with `sha256:`: such an entry must be a well-formed digest.
    public static func parseEntry(_ entry: some StringProtocol) throws(SecretEntryError) -> SecretDigest {
        let text = entry.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw SecretEntryError("empty entry") }
        if text.hasPrefix(prefix) {
            guard let digest = SecretDigest(encoded: text) else {
                throw SecretEntryError("an entry starting with sha256: must be sha256: followed by 64 hexadecimal digits")
            }
            return digest
        }
        return SecretDigest(hashing: text)
    }

    /// The entries of a secrets file: one per line; blank lines and lines starting with `#` are skipped.
    /// - Returns: each entry's text with its 1-based line number.
    public static func fileEntries(_ text: String) -> [(line: Int, entry: String)] {
        // `isNewline`, not "\n": "\r\n" is one Character, so files with Windows line ends split too.
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().compactMap { index, line in
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
            return (index + 1, trimmed)
        }
    }
}
