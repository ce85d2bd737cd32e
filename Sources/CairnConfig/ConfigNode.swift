import Yams

/// A YAML node and where it is: the file, the key path that reaches it and the line of that key. Its accessors turn a
/// wrong type or an out-of-range value into a `ConfigError` that names the place, so the decoders read as a list of
/// rules.
struct ConfigNode {
    let node: Node
    let file: String
    /// Dotted path from the top of the document, like `segments[1].weights.usage`; empty for the document itself.
    let path: String
    /// The line of the key this node is the value of, if any.
    let keyLine: Int?

    /// The line to report: a value's own line, but for a mapping or a list the line of the key that introduces it
    /// (a block mapping starts on the line after its key).
    var line: Int? {
        if case .scalar = node { return node.mark?.line ?? keyLine }
        return keyLine ?? node.mark?.line
    }

    /// The resolved tag (`int`, `float`, `str`, `null` ...): Yams keeps `Tag.name` internal, its description is the name.
    var tag: Tag.Name { Tag.Name(rawValue: node.tag.description) }

    /// `~`, `null` or no value at all after the colon.
    var isNull: Bool {
        if case .scalar = node { return tag == .null }
        return false
    }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, key: path.isEmpty ? nil : path, message: message)
    }

    func child(_ key: String, _ node: Node, keyLine: Int?) -> ConfigNode {
        ConfigNode(node: node, file: file, path: Self.path(path, key), keyLine: keyLine)
    }

    /// The path of `key` below `path`: `a.b`, or `a["Deal Won"]` when the key is not a plain word.
    static func path(_ path: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        if !plain { return "\(path)[\"\(key)\"]" }
        return path.isEmpty ? key : "\(path).\(key)"
    }

    // MARK: Typed accessors

    /// A mapping. With `allowed`, any other key is an error at that key (with the nearest allowed key as a hint), so
    /// a typo is never silently ignored; `unknown` says what such a key is not ("unknown key", "not a persona").
    func mapping(
        _ requirement: String, allowed: [String]?, unknown: String = "unknown key"
    ) throws(ConfigError) -> ConfigMapping {
        guard case .mapping(let mapping) = node else { throw error(requirement) }
        var entries: [ConfigMapping.Entry] = []
        var lines: [String: Int?] = [:]
        for (keyNode, value) in mapping {
            let keyLine = keyNode.mark?.line
            guard case .scalar(let scalar) = keyNode, !scalar.string.isEmpty else {
                throw ConfigError(file: file, line: keyLine, key: path.isEmpty ? nil : path, message: "keys must be text")
            }
            let key = scalar.string
            let entry = self.child(key, value, keyLine: keyLine)
            if let allowed, !allowed.contains(key) {
                let hint = nearest(key, in: allowed).map { "did you mean \($0)?" } ?? "expected one of \(listing(allowed))"
                throw ConfigError(file: file, line: keyLine, key: entry.path, message: "\(unknown); \(hint)")
            }
            if let first = lines[key] {
                let also = first.map { " (first on line \($0))" } ?? ""
                throw ConfigError(file: file, line: keyLine, key: entry.path, message: "duplicate key\(also)")
            }
            lines[key] = keyLine
            entries.append(ConfigMapping.Entry(key: key, value: entry))
        }
        return ConfigMapping(node: self, entries: entries)
    }

    /// A list, its elements with paths `path[0]`, `path[1]`, ...
    func list(_ requirement: String) throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error(requirement) }
        return sequence.enumerated().map { index, element in
            ConfigNode(node: element, file: file, path: "\(path)[\(index)]", keyLine: nil)
        }
    }

    /// A non-empty scalar that is not null. Any scalar counts as text, so a region `NO` or a plan `2024` need no
    /// quotes.
    func text(_ requirement: String = "must be non-empty text") throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node, !isNull, !scalar.string.isEmpty else { throw error(requirement) }
        return scalar.string
    }

    /// A non-empty list of texts; an element that is not text is reported at that element.
    func texts(_ requirement: String, empty: String) throws(ConfigError) -> [(value: String, node: ConfigNode)] {
        let elements = try list(requirement)
        guard !elements.isEmpty else { throw error(empty) }
        var texts: [(value: String, node: ConfigNode)] = []
        for element in elements {
            texts.append((try element.text(requirement), element))
        }
        return texts
    }

    /// A whole number (a plain YAML integer, not a quoted one) that passes `valid`.
    func int(_ requirement: String, where valid: (Int) -> Bool = { _ in true }) throws(ConfigError) -> Int {
        guard case .scalar(let scalar) = node, tag == .int, let value = Int.construct(from: scalar),
            valid(value)
        else { throw error(requirement) }
        return value
    }

    /// A finite number, whole or not, that passes `valid`.
    func number(_ requirement: String, where valid: (Double) -> Bool = { _ in true }) throws(ConfigError) -> Double {
        guard case .scalar(let scalar) = node else { throw error(requirement) }
        let value: Double? =
            switch tag {
            case .int: Int.construct(from: scalar).map(Double.init)
            case .float: Double.construct(from: scalar)
            default: nil
            }
        guard let value, value.isFinite, valid(value) else { throw error(requirement) }
        return value
    }
}

/// The entries of a YAML mapping in file order, with their places.
struct ConfigMapping {
    struct Entry {
        let key: String
        let value: ConfigNode
    }

    /// The mapping itself.
    let node: ConfigNode
    let entries: [Entry]

    /// The value of `key`; nil when the key is absent or has no value, which both mean "use the default".
    subscript(key: String) -> ConfigNode? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    func contains(_ key: String) -> Bool {
        entries.contains { $0.key == key }
    }

    /// The value of a key that must be given; its absence is reported on the line of the mapping.
    func required(_ key: String) throws(ConfigError) -> ConfigNode {
        if let value = entries.first(where: { $0.key == key })?.value { return value }
        throw ConfigError(
            file: node.file, line: node.line, key: ConfigNode.path(node.path, key), message: "required key is missing")
    }
}

/// `a, b, c`, for messages.
func listing(_ names: some Sequence<String>) -> String {
    names.joined(separator: ", ")
}

/// A number as a person would write it in the file: `150000`, `0.5`.
func format(_ number: Double) -> String {
    number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
}
