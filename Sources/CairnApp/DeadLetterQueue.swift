public import CairnAMQP

/// Reads and replays a dead-letter queue without ever losing a message.
///
/// AMQP has no peek. Every operation here takes messages with `basic.get` without acknowledging them, so each one
/// stays owned by the broker until it is settled, and at the end hands every message it did not replay back with
/// `basic.nack(requeue)`, oldest first, so the queue keeps its order. A crash or a dropped connection in between
/// returns them too (the broker requeues everything unacknowledged on a closed channel). Nothing is ever
/// acknowledged except a replayed message, and only after the broker confirmed its copy on the target exchange.
///
/// Each operation reads at most the messages that were in the queue when it started (the count the first get
/// reports): what arrives behind them, such as a replayed message that failed again, is left for the next run.
///
/// A requeue counts as a delivery on a quorum queue. The dead-letter queues are declared without
/// `x-delivery-limit` (and RabbitMQ 3.x sets none by default), so looking never drops a message.
public struct DeadLetterQueue: Sendable {
    public let queue: String
    let connection: AMQPConnection

    public init(queue: String, connection: AMQPConnection) {
        self.queue = queue
        self.connection = connection
    }

    /// The first `limit` dead letters, and how many the queue held; every message stays in the queue.
    public func peek(limit: Int) async throws -> (letters: [DeadLetter], total: Int) {
        var letters: [DeadLetter] = []
        let total = try await scan { letter in
            letters.append(letter)
            return letters.count < limit ? .keepLooking : .stop
        }
        return (letters, total)
    }

    /// The first dead letter with `messageID`, or nil; every message stays in the queue.
    public func find(messageID: String) async throws -> DeadLetter? {
        var found: DeadLetter?
        _ = try await scan { letter in
            guard letter.messageID == messageID else { return .keepLooking }
            found = letter
            return .stop
        }
        return found
    }

    /// What a replay did.
    public struct ReplayOutcome: Sendable {
        /// Dead letters in the queue when the replay started.
        public var total = 0
        /// Sent back (or, in a dry run, that would have been) and removed from the queue.
        public var replayed: [DeadLetter] = []
        /// Selected but left in the queue because they cannot go back through the broker, with why.
        public var skipped: [(letter: DeadLetter, why: String)] = []
    }

    /// Republishes the selected dead letters to the exchange that fed their origin queue, with their original
    /// routing key, waits for the broker's confirms, and only then removes them from the dead-letter queue.
    ///
    /// A crash between the confirm and the removal leaves a copy in both places; replaying it again sends the same
    /// `messageId`, which the worker's deduplication absorbs.
    /// - Parameters:
    ///   - select: which dead letters to replay; the others stay where they are.
    ///   - dryRun: report what would be replayed and change nothing.
    public func replay(
        dryRun: Bool, batchSize: Int = 100, select: @Sendable (DeadLetter) -> Bool
    ) async throws -> ReplayOutcome {
        var outcome = ReplayOutcome()
        var pending: [(letter: DeadLetter, message: AMQPMessage)] = []
        var acked: Set<AMQPDeliveryTag> = []
        let connection = self.connection
        func flush() async throws {
            guard !pending.isEmpty else { return }
            try await connection.publish(pending.map(\.message))
            for item in pending {
                connection.ack(item.letter.delivery.tag)
                acked.insert(item.letter.delivery.tag)
            }
            outcome.replayed += pending.map(\.letter)
            pending.removeAll()
        }
        outcome.total = try await scan { letter in
            guard select(letter) else { return .keepLooking }
            guard let target = letter.replayTarget else {
                let why = letter.origin == "ingest"
                    ? "refused by ingest: a Segment message, send it to ingest again"
                    : "origin unknown (no x-cairn-queue or x-first-death-queue header)"
                outcome.skipped.append((letter, why))
                return .keepLooking
            }
            if dryRun {
                outcome.replayed.append(letter)
                return .keepLooking
            }
            var message = AMQPMessage(
                exchange: target.exchange, routingKey: target.routingKey, body: letter.delivery.body,
                messageID: letter.messageID)
            message.contentType = letter.delivery.contentType ?? "application/json"
            message.headers = letter.replayHeaders
            message.mandatory = true  // a copy that no queue takes fails the replay instead of vanishing
            pending.append((letter, message))
            if pending.count >= batchSize { try await flush() }
            return .keepLooking
        } finish: {
            try await flush()
        } acked: {
            acked
        }
        return outcome
    }

    enum Step { case keepLooking, stop }

    /// Gets the messages that were in the queue when it started, one at a time, until `visit` says stop; runs
    /// `finish` (still holding them), then requeues every message not in `acked()`. Returns the count of messages
    /// the queue held at the start.
    private func scan(
        _ visit: (DeadLetter) async throws -> Step, finish: () async throws -> Void = {},
        acked: () -> Set<AMQPDeliveryTag> = { [] }
    ) async throws -> Int {
        guard let first = try await connection.get(queue: queue) else { return 0 }
        let total = first.remaining + 1
        var taken = [first.delivery.tag]
        // One nack per message, oldest first: a quorum queue serves returned messages first, in the order they
        // came back, so the queue keeps its order. (A `multiple` nack hands them back in reverse.)
        func requeue() {
            let settled = acked()
            for tag in taken where !settled.contains(tag) { connection.nack(tag, requeue: true) }
        }
        do {
            var next: AMQPGetResult? = first
            var position = 0
            while let got = next {
                position += 1
                if position > 1 { taken.append(got.delivery.tag) }
                guard try await visit(DeadLetter(position: position, delivery: got.delivery)) == .keepLooking,
                    position < total
                else { break }
                next = try await connection.get(queue: queue)
            }
            try await finish()
        } catch {
            requeue()
            throw error
        }
        requeue()
        return total
    }
}
