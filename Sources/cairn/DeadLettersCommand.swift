import ArgumentParser
import CairnAMQP
import CairnApp
import CairnCore
import Foundation
import Logging

/// `cairn dead-letters`: look at the messages Cairn refused, and send the fixed ones back.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, show and replay dead letters (messages refused with their reason).",
        discussion: """
            Dead letters are in \(CairnTopology.deadEvents): messages the worker or the escalator refused (reason in \
            x-cairn-error), Segment messages refused inside an ingest batch, and messages the broker dead-lettered \
            after \(CairnTopology.deliveryLimit) deliveries (x-first-death-reason). Looking never removes anything: \
            messages are taken without acknowledgement and handed back.
            """,
        subcommands: [List.self, Show.self, Replay.self])

    struct QueueOption: ParsableArguments {
        @Option(help: "The dead-letter queue (\(CairnTopology.deadLetterQueues.joined(separator: ", "))).")
        var queue = CairnTopology.deadEvents

        func validate() throws {
            guard CairnTopology.deadLetterQueues.contains(queue) else {
                throw ValidationError(
                    "--queue \(queue) is not a dead-letter queue; the topology has: \(CairnTopology.deadLetterQueues.joined(separator: ", "))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead letters, oldest first; they stay in the queue.")
        @OptionGroup var queue: QueueOption
        @Option(help: "Most dead letters to list.") var limit = 50
        @Flag(help: "Print JSON instead of a table.") var json = false

        func validate() throws {
            if limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let limit = self.limit
            let (letters, total) = try await withDeadLetterQueue(queue.queue) { try await $0.peek(limit: limit) }
            if json { return print(String(decoding: try JSONEncoder.cairn.encode(letters.map(\.summary)), as: UTF8.self)) }
            guard total > 0 else { return print("no dead letters in \(queue.queue)") }
            print("\(total) dead letter\(total == 1 ? "" : "s") in \(queue.queue)\(letters.count < total ? ", the first \(letters.count):" : ":")")
            print("#     messageId                             routing key          size    reason / body")
            for letter in letters {
                print([String(letter.position).padding(6), (letter.messageID ?? "-").padding(38),
                       letter.delivery.routingKey.padding(21), String(letter.size).padding(8), letter.reason].joined())
                print(String(repeating: " ", count: 73) + letter.preview())
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One dead letter: headers, reason and body; it stays in the queue.")
        @OptionGroup var queue: QueueOption
        @Argument(help: "The dead letter's messageId.") var messageId: String
        @Flag(help: "Print JSON (with the body as text) instead.") var json = false

        func run() async throws {
            let id = messageId
            guard let letter = try await withDeadLetterQueue(queue.queue, { try await $0.find(messageID: id) }) else {
                throw CommandFailure("no dead letter with messageId \(messageId) in \(queue.queue)")
            }
            if json { return print(String(decoding: try JSONEncoder.cairn.encode(letter.summary), as: UTF8.self)) }
            print("messageId:    \(letter.messageID ?? "-")")
            print("position:     \(letter.position)")
            print("reason:       \(letter.reason)")
            print("origin:       \(letter.origin ?? "unknown")")
            if let target = letter.replayTarget {
                print("replays to:   \(target.exchange), routing key \(target.routingKey)")
            } else {
                print("replays to:   (not replayable through the broker)")
            }
            print("routing key:  \(letter.delivery.routingKey)")
            print("content type: \(letter.delivery.contentType ?? "-")")
            print("size:         \(letter.size) bytes")
            print("headers:")
            for (key, value) in letter.headers.sorted(by: { $0.key < $1.key }) { print("  \(key): \(value)") }
            print("body:")
            print(letter.prettyBody)
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters back where they came from, then remove them from the dead-letter queue.",
            discussion: """
                Each selected dead letter is published again to the exchange that feeds the queue that refused it \
                (cairn.events for events), with its original routing key, and removed from the dead-letter queue \
                only after the broker confirmed the copy: nothing is lost. A crash between the two leaves a \
                duplicate, which the worker's messageId deduplication absorbs. A replayed message that is still \
                bad is dead-lettered again with its reason; a replay only reads the dead letters that were in the \
                queue when it started, so it never loops. Dead letters refused by ingest are Segment messages: send \
                them to ingest again instead.
                """)
        @OptionGroup var queue: QueueOption
        @Option(name: .customLong("id"), help: "Replay the dead letter with this messageId (repeatable).") var ids: [String] = []
        @Flag(help: "Replay every dead letter (narrowed by --reason-contains).") var all = false
        @Option(help: "Only dead letters whose reason contains this text (case-insensitive).") var reasonContains: String?
        @Flag(help: "Print what would be replayed and change nothing.") var dryRun = false

        func validate() throws {
            if ids.isEmpty && !all && reasonContains == nil {
                throw ValidationError("say which dead letters to replay: --id <messageId>, --all or --reason-contains <text>")
            }
            if !ids.isEmpty && all { throw ValidationError("--id and --all exclude each other") }
        }

        func run() async throws {
            let (ids, all, needle, dryRun) = (Set(self.ids), self.all, reasonContains?.lowercased(), self.dryRun)
            let outcome = try await withDeadLetterQueue(queue.queue) { queue in
                try await queue.replay(dryRun: dryRun) { letter in
                    if !all, !ids.isEmpty, !ids.contains(letter.messageID ?? "") { return false }
                    if let needle, !letter.reason.lowercased().contains(needle) { return false }
                    return true
                }
            }
            let verb = dryRun ? "would replay" : "replayed"
            for letter in outcome.replayed {
                let target = letter.replayTarget.map { "\($0.exchange) \($0.routingKey)" } ?? ""
                print("\(verb) \(letter.messageID ?? "-") to \(target) (\(letter.reason.prefix(100)))")
            }
            for (letter, why) in outcome.skipped { print("skipped \(letter.messageID ?? "-"): \(why)") }
            let found = Set(outcome.replayed.compactMap(\.messageID) + outcome.skipped.compactMap(\.letter.messageID))
            let missing = ids.subtracting(found).sorted()
            if outcome.replayed.isEmpty && outcome.skipped.isEmpty && missing.isEmpty {
                print(outcome.total == 0 ? "no dead letters in \(queue.queue): nothing to replay" : "no dead letter matched: nothing to replay")
            } else {
                print("\(verb) \(outcome.replayed.count) of \(outcome.total) dead letters in \(queue.queue)")
            }
            if !missing.isEmpty {
                throw CommandFailure("no dead letter with messageId \(missing.joined(separator: ", ")) in \(queue.queue)")
            }
        }
    }
}

/// A command that could not do what it was asked; printed as `Error: <message>`, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension AsyncParsableCommand {
    /// Runs `body` with the dead-letter queue `queue` on the environment's broker; a broker that cannot be
    /// reached is a clear error rather than a wait.
    func withDeadLetterQueue<Result: Sendable>(
        _ queue: String, _ body: @escaping @Sendable (DeadLetterQueue) async throws -> Result
    ) async throws -> Result {
        let settings = try loadSettings()
        var logger = makeLogger(settings)
        // The connection's own reconnect warnings would only repeat the error this command reports.
        logger.logLevel = max(logger.logLevel, .error)
        let connection = AMQPConnection(configuration: settings.amqp, topology: CairnTopology.core, logger: logger)
        do {
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.run() }
                defer { connection.close() }
                return try await body(DeadLetterQueue(queue: queue, connection: connection))
            }
        } catch let error as AMQPError where error.isTransient {
            throw CommandFailure("cannot reach RabbitMQ (\(error.message)); check CAIRN_AMQP_URL")
        }
    }
}
