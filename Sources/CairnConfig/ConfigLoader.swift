public import CairnCore
import Foundation
import Yams

/// Loads `cairn.yaml` into an `EngineConfiguration`.
///
/// Every top-level section is optional: a section the file gives replaces that part of
/// `EngineConfiguration.standard`, except `thresholds`, whose keys override single fields. An empty file is the
/// standard model. The whole file is validated before anything is returned, and the first problem is thrown as a
/// `ConfigError` naming the file, the line and the key, so an invalid file stops a role at start.
public enum ConfigLoader {
    /// The top-level sections. Thresholds are decoded before personas, and segments before milestones, because the
    /// latter are checked against the former.
    static let sections = ["segments", "personas", "milestones", "bands", "thresholds", "events", "playbooks", "roster"]

    /// Loads the file at `path` (`CAIRN_CONFIG`); errors name the path as given.
    public static func load(path: String) throws(ConfigError) -> EngineConfiguration {
        func failure(_ message: String) -> ConfigError { ConfigError(file: path, line: nil, key: nil, message: message) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure("file not found")
        }
        guard !isDirectory.boolValue else { throw failure("is a directory, not a file") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw failure("cannot be read: \(error.localizedDescription)")
        }
        guard let yaml = String(data: data, encoding: .utf8) else { throw failure("is not UTF-8 text") }
        return try load(yaml: yaml, file: path)
    }

    /// Loads configuration from YAML text; `file` is the name errors give as the file (`cairn.yaml`).
    public static func load(yaml: String, file: String) throws(ConfigError) -> EngineConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "not valid YAML: \(error)")
        }
        guard let root else { return .standard }
        let document = ConfigNode(node: root, file: file, path: "", keyLine: nil)
        if document.isNull { return .standard }
        let top = try document.mapping(
            "must be a mapping of sections (\(listing(sections)))", allowed: sections, unknown: "unknown section")
        return try configuration(from: top)
    }

    /// The standard model with the file's sections put in, checked across sections.
    static func configuration(from top: ConfigMapping) throws(ConfigError) -> EngineConfiguration {
        var configuration = EngineConfiguration.standard
        if let node = top["segments"] {
            configuration.segments = try segments(node)
        }
        if let node = top["thresholds"] {
            // Without a personas section the standard personas stay, and the usage window must still hold them.
            let keptPersonas = top["personas"] == nil ? configuration.personas : nil
            configuration.thresholds = try thresholds(node, over: configuration.thresholds, keeping: keptPersonas)
        }
        if let node = top["personas"] {
            configuration.personas = try personas(node, usageWindowDays: configuration.thresholds.usageWindowDays)
        }
        if let node = top["milestones"] {
            configuration.milestones = try milestones(node, segments: configuration.segments.map(\.name))
        }
        if let node = top["bands"] {
            configuration.bands = try bands(node)
        }
        if let node = top["events"] {
            configuration.eventNames = try eventNames(node)
        }
        if let node = top["playbooks"] {
            configuration.playbooks = try playbooks(node, segments: configuration.segments.map(\.name))
        }
        if let node = top["roster"] {
            configuration.roster = try roster(node)
        }
        return configuration
    }

    /// A Yams parse error as a `ConfigError` with the line Yams reports.
    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        func problem(_ context: YamlError.Context?, _ problem: String) -> String {
            guard let context else { return "not valid YAML: \(problem)" }
            return "not valid YAML: \(problem) (\(context.text) on line \(context.mark.line))"
        }
        switch error {
        case .scanner(let context, let text, let mark, _), .parser(let context, let text, let mark, _),
            .composer(let context, let text, let mark, _):
            return ConfigError(file: file, line: mark.line, key: nil, message: problem(context, text))
        case .reader(let text, let offset, _, let yaml):
            let line = offset.map { yaml.prefix($0).count(where: { $0 == "\n" }) + 1 }
            return ConfigError(file: file, line: line, key: nil, message: "not valid YAML: \(text)")
        default:
            return ConfigError(file: file, line: nil, key: nil, message: "not valid YAML: \(error)")
        }
    }
}
