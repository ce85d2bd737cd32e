/// Why a configuration file cannot be used, and where: the file, the line and the key at fault, so whoever edits
/// the file can go straight to the problem.
///
/// Its description reads like a compiler diagnostic: `cairn.yaml:12: segments[1].weights.usage: must be a number
/// from 0 to 1`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path of the file, as it was given to the loader.
    public let file: String
    /// The line of the problem, from 1; nil when the problem is the file as a whole (not found, not readable).
    public let line: Int?
    /// The dotted path of the key at fault, like `segments[1].weights.usage`; nil when no key is at fault (the file
    /// is missing or is not valid YAML).
    public let key: String?
    /// What is wrong, and what would be right.
    public let message: String

    public init(file: String, line: Int?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let key { text += ": \(key)" }
        return text + ": " + message
    }
}
