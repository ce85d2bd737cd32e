import ArgumentParser
import CairnConfig
import CairnCore
import Foundation

/// `cairn config check`: loads a cairn.yaml as every role would, and says what is in it or what is wrong where.
struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a cairn.yaml (segments, personas, milestones, health, playbooks, roster).",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a cairn.yaml as the roles do; print a summary, or the problem as file:line: key: reason (exit 1).")

        @Argument(help: "The file to check (default: CAIRN_CONFIG, else config/cairn.yaml).") var file: String?

        func run() async throws {
            let path = file ?? ProcessInfo.processInfo.environment["CAIRN_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? "config/cairn.yaml"
            let engine: EngineConfiguration
            do {
                engine = try ConfigLoader.load(path: path)
            } catch {
                FileHandle.standardError.write(Data("\(error.description)\n".utf8))
                throw ExitCode.failure
            }
            for line in Self.summary(engine, path: path) { print(line) }
        }

        static func summary(_ engine: EngineConfiguration, path: String) -> [String] {
            let segments = engine.segments.map { "\($0.name) (\($0.touch.rawValue) touch)" }.joined(separator: ", ")
            let plays = Dictionary(grouping: engine.playbooks, by: \.action).sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.value.count) \($0.key.rawValue)" }.joined(separator: ", ")
            let roster = engine.roster
            let managers = Set(roster.csms.values.compactMap(\.manager))
            return [
                "\(path): OK",
                "  segments:   \(engine.segments.count): \(segments)",
                "  personas:   \(engine.personas.keys.sorted().joined(separator: ", "))",
                "  milestones: \(engine.milestones.map(\.name).joined(separator: ", "))",
                "  bands:      green from \(engine.bands.green), yellow from \(engine.bands.yellow), hysteresis \(engine.bands.margin)",
                "  playbooks:  \(engine.playbooks.count) (\(plays))",
                "  roster:     \(roster.csms.count) CSMs, \(roster.pools.count) pools, \(managers.count) managers",
            ]
        }
    }
}
