import Foundation

/// Settings of the ingest role.
public struct IngestConfiguration: Sendable {
    /// Write key → source name. A request must present one of these keys.
    public var writeKeys: [String: String]
    public var host = "127.0.0.1"
    public var port = 8081

    public init(writeKeys: [String: String]) {
        self.writeKeys = writeKeys
    }

    /// Parses `CAIRN_WRITE_KEYS`: comma-separated `key` or `key:source` entries.
    public static func parseWriteKeys(_ text: String) -> [String: String] {
        var keys: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let key = parts.first, !key.isEmpty else { continue }
            keys[key] = parts.count > 1 && !parts[1].isEmpty ? parts[1] : "default"
        }
        return keys
    }
}
