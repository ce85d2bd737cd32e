public import CairnAMQP
public import CairnCore
public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Publishes account events to Cairn from a Swift service, straight to RabbitMQ.
///
/// `send` puts an event in a bounded local buffer and returns at once; `run()` publishes the buffer in batches
/// with publisher confirms and, while the broker is away, keeps the events and retries with exponential backoff.
/// An event leaves the buffer only once the broker confirmed it, so a broker outage loses nothing that fits in
/// the buffer; a confirm lost with a dropped connection makes the event go again, which Cairn's workers
/// deduplicate by `messageId`. When the buffer is full, `send` refuses the event (`CairnProducerError`) instead
/// of growing without bound: the caller decides whether to drop, wait (`flush()`) or fail.
public final class CairnProducer: Service, Sendable {
    public struct Configuration: Sendable {
        public var amqp: AMQPConfiguration
        /// Events kept while waiting for the broker.
        public var bufferCapacity = 10_000
        /// Events per publish call (one round of confirms).
        public var maxBatch = 500
        public var minRetryDelay: Duration = .milliseconds(100)
        public var maxRetryDelay: Duration = .seconds(5)
        /// How long graceful shutdown keeps trying to publish what is buffered before giving up on it.
        public var shutdownTimeout: Duration = .seconds(10)

        public init(amqp: AMQPConfiguration) {
            self.amqp = amqp
        }
    }

    private struct State {
        var buffer: [AccountEvent] = []
        /// Events confirmed since start, and events accepted since start: `flush` waits for the first to catch up.
        var confirmed = 0
        var accepted = 0
        var wakeUp: CheckedContinuation<Void, Never>?
        var flushWaiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    public let configuration: Configuration
    private let connection: AMQPConnection
    private let state = Mutex(State())
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.connection = AMQPConnection(
            configuration: configuration.amqp,
            topology: AMQPTopology(exchanges: [.init(CairnTopology.events, kind: .topic)]), closesOnGracefulShutdown: false,
            logger: logger)
        self.logger = logger
    }

    /// Buffers `event` for publishing. Throws `CairnProducerError.bufferFull` when the buffer holds
    /// `bufferCapacity` events already.
    public func send(_ event: AccountEvent) throws(CairnProducerError) {
        let wake = try state.withLock { state throws(CairnProducerError) -> CheckedContinuation<Void, Never>? in
            guard state.buffer.count < configuration.bufferCapacity else { throw .bufferFull(capacity: configuration.bufferCapacity) }
            state.buffer.append(event)
            state.accepted += 1
            defer { state.wakeUp = nil }
            return state.wakeUp
        }
        wake?.resume()
    }

    /// Events waiting for the broker's confirm.
    public var pendingCount: Int { state.withLock { $0.buffer.count } }

    /// Returns once every event sent before the call is confirmed by the broker.
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.confirmed >= state.accepted { return true }
                state.flushWaiters.append((state.accepted, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Runs the connection and the publishing loop until graceful shutdown, which first publishes what is
    /// buffered (for as long as the broker takes it).
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.connection.run() }
            await publishLoop()
            connection.close()
            try await group.waitForAll()
        }
    }

    private func publishLoop() async {
        var delay = configuration.minRetryDelay
        var shutdownStarted: ContinuousClock.Instant?
        while true {
            if Task.isShuttingDownGracefully, shutdownStarted == nil { shutdownStarted = .now }
            if let shutdownStarted, ContinuousClock.now - shutdownStarted > configuration.shutdownTimeout {
                logger.error("shutting down with events not confirmed by the broker", metadata: ["cairn.pending": "\(pendingCount)"])
                return
            }
            let batch = state.withLock { Array($0.buffer.prefix(configuration.maxBatch)) }
            if batch.isEmpty {
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                await waitForEvents()
                continue
            }
            do {
                // Mandatory: if no queue is bound yet (no worker ever declared it), the broker returns the events
                // instead of confirming them into nowhere, and they stay in the buffer.
                try await connection.publish(
                    batch.map {
                        var message = AMQPMessage(
                            exchange: CairnTopology.events, routingKey: $0.routingKey, body: $0.encoded(), messageID: $0.messageId)
                        message.mandatory = true
                        return message
                    })
                confirm(batch.count)
                delay = configuration.minRetryDelay
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "publish failed; keeping the events and retrying",
                    metadata: ["error": "\(error)", "cairn.pending": "\(pendingCount)", "cairn.retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.maxRetryDelay)
            }
        }
    }

    /// Drops the first `count` events from the buffer (they are confirmed) and wakes the flushes they complete.
    private func confirm(_ count: Int) {
        let ready = state.withLock { state in
            state.buffer.removeFirst(count)
            state.confirmed += count
            let ready = state.flushWaiters.filter { $0.target <= state.confirmed }.map(\.continuation)
            state.flushWaiters.removeAll { $0.target <= state.confirmed }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Waits until an event arrives, or graceful shutdown or cancellation.
    private func waitForEvents() async {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if !state.buffer.isEmpty || Task.isCancelled { return true }
                        state.wakeUp = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.wake()
            }
        } onGracefulShutdown: {
            self.wake()
        }
    }

    private func wake() {
        let continuation = state.withLock { state in
            defer { state.wakeUp = nil }
            return state.wakeUp
        }
        continuation?.resume()
    }
}

public enum CairnProducerError: Error, Sendable, Hashable {
    /// The local buffer is full: the broker has been away for long, or events come faster than it takes them.
    case bufferFull(capacity: Int)
}

extension AccountEvent {
    /// A `track` event with a new `messageId`, happening now unless `at` says otherwise.
    public static func track(
        _ name: String, accountId: String?, userId: String? = nil, properties: [String: JSONValue] = [:], at: Date = Date()
    ) -> AccountEvent {
        AccountEvent(
            messageId: UUID().uuidString.lowercased(), type: .track, event: name, accountId: accountId, userId: userId,
            timestamp: at, properties: properties)
    }

    /// An `identify` event: who the user is (persona in `traits.role`).
    public static func identify(
        userId: String, accountId: String, traits: [String: JSONValue] = [:], at: Date = Date()
    ) -> AccountEvent {
        AccountEvent(
            messageId: UUID().uuidString.lowercased(), type: .identify, accountId: accountId, userId: userId,
            timestamp: at, traits: traits)
    }
}
