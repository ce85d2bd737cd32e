import ArgumentParser
import CairnApp
import CairnCore
import CairnStore
import Foundation
import Logging

/// `cairn tasks`: a CSM's queue from the terminal, and the actions on a task.
struct Tasks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a queue and act on tasks (acknowledge, done, snooze, dismiss, reassign).",
        subcommands: [List.self, Show.self, Ack.self, Done.self, Snooze.self, Dismiss.self, Reassign.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open tasks of a queue, most urgent first.")
        @Option(help: "The queue: csm.<id>, pool.<name> or manager.<id>; all queues when left out.") var assignee: String?
        @Option(help: "Statuses to list, comma-separated.") var status = "open,acknowledged,snoozed"
        @Option(help: "Most tasks to list.") var limit = 50
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let statuses = status.split(separator: ",").map(String.init)
            let tasks = try await withTaskStore { store, logger in
                try await store.tasks(assignee: assignee, statuses: statuses, limit: limit, logger: logger)
            }
            if json { return print(String(decoding: try JSONEncoder.cairn.encode(tasks), as: UTF8.self)) }
            print("task                                  priority  status        due                   account           playbook")
            for task in tasks {
                print([task.taskId.padding(40), task.priority.padding(10), task.status.padding(14),
                       Timestamp.format(task.dueAt).padding(22), task.accountId.padding(18), task.playbook].joined())
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One task with its history, as JSON.")
        @Argument var task: String

        func run() async throws {
            guard let record = try await withTaskStore({ store, logger in try await store.task(task, logger: logger) }) else {
                throw ValidationError("no task \(task)")
            }
            print(String(decoding: try JSONEncoder.cairn.encode(record), as: UTF8.self))
        }
    }

    struct Ack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledge a task: you are on it.")
        @Argument var task: String
        @Option(help: "Who acts.") var actor = ProcessInfo.processInfo.environment["USER"] ?? "cli"
        func run() async throws { try await perform(.acknowledge, task, actor) }
    }

    struct Done: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a task as done (logs a touchpoint on the account).")
        @Argument var task: String
        @Option(help: "What was done.") var note: String?
        @Option(help: "Who acts.") var actor = ProcessInfo.processInfo.environment["USER"] ?? "cli"
        func run() async throws { try await perform(.done(note: note), task, actor) }
    }

    struct Snooze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a task aside until a time; it reopens then.")
        @Argument var task: String
        @Option(help: "ISO-8601 time, or a number of days from now.") var until: String
        @Option(help: "Who acts.") var actor = ProcessInfo.processInfo.environment["USER"] ?? "cli"
        func run() async throws {
            let date = Timestamp.parse(until) ?? Double(until).map { Date().addingTimeInterval($0 * 86_400) }
            guard let date else { throw ValidationError("--until must be an ISO-8601 time or a number of days") }
            try await perform(.snooze(until: date), task, actor)
        }
    }

    struct Dismiss: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a task without doing it, with the reason.")
        @Argument var task: String
        @Option(help: "Why it is not needed.") var reason: String
        @Option(help: "Who acts.") var actor = ProcessInfo.processInfo.environment["USER"] ?? "cli"
        func run() async throws { try await perform(.dismiss(reason: reason), task, actor) }
    }

    struct Reassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a task to another queue: csm.<id>, pool.<name> or manager.<id>.")
        @Argument var task: String
        @Option(help: "The new queue.") var to: String
        @Option(help: "Who acts.") var actor = ProcessInfo.processInfo.environment["USER"] ?? "cli"
        func run() async throws {
            let parts = to.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--to must be csm.<id>, pool.<name> or manager.<id>") }
            try await perform(.reassign(to: .init(kind: parts[0], id: parts[1])), task, actor)
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

extension AsyncParsableCommand {
    /// Runs `body` against the database of the environment's settings.
    func withTaskStore<Result: Sendable>(
        _ body: @escaping @Sendable (Store, Logger) async throws -> Result
    ) async throws -> Result {
        let settings = try loadSettings()
        let logger = makeLogger(settings)
        return try await withStore(settings: settings, logger: logger) { store in try await body(store, logger) }
    }

    /// Applies `action` and prints the task's new state; a refused action is a usage error with its reason.
    func perform(_ action: TaskAction, _ task: String, _ actor: String) async throws {
        do {
            let record = try await withTaskStore { store, logger in
                try await store.perform(action, on: task, actor: actor, logger: logger)
            }
            print("\(record.taskId): \(record.status) (\(record.assignee))")
        } catch let error as TaskActionError {
            throw ValidationError(error.message)
        }
    }
}
