import Synchronization

/// Deliveries from one queue, buffered as they arrive.
///
/// `next(maxCount:)` hands out everything that arrived since the last call, up to `maxCount`, so a consumer that
/// is busy applying a batch finds the next batch already gathered: batches grow with the backlog by themselves,
/// and a lone message is handed out at once.
public final class AMQPConsumer: Sendable, AsyncSequence {
    private struct State {
        var buffer: [AMQPDelivery] = []
        var waiter: (continuation: CheckedContinuation<[AMQPDelivery]?, Never>, maxCount: Int)?
        var finished = false

        mutating func take(_ maxCount: Int) -> [AMQPDelivery] {
            let count = Swift.min(maxCount, buffer.count)
            defer { buffer.removeFirst(count) }
            return Array(buffer.prefix(count))
        }
    }

    private let state = Mutex(State())
    private let tag: String
    private let mailbox: Mailbox?

    init(tag: String, mailbox: Mailbox?) {
        self.tag = tag
        self.mailbox = mailbox
    }

    /// Asks the broker to send nothing more (`basic.cancel`). What already arrived is still handed out by `next`,
    /// which then returns nil; acknowledge it, then `close()`. On a single-active-consumer queue the broker gives the
    /// queue to its next consumer at once.
    public func cancel() {
        if mailbox?.send(.cancel(tag)) != true { finish() }
    }

    /// Closes the consumer's channel (anything unacknowledged goes back to the queue) and forgets the consumer.
    public func close() {
        if mailbox?.send(.closeChannel(tag)) != true { finish() }
    }

    /// Waits for deliveries and returns up to `maxCount` of them, oldest first; nil once the connection closed
    /// (or the calling task was cancelled) and nothing is left.
    public func next(maxCount: Int) async -> [AMQPDelivery]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[AMQPDelivery]?, Never>) in
                let immediate: [AMQPDelivery]?? = state.withLock { state in
                    if !state.buffer.isEmpty { return .some(state.take(maxCount)) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = (continuation, maxCount)
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.continuation.resume(returning: nil)
        }
    }

    /// Called by the connection thread with what arrived in one round.
    func deliver(_ deliveries: [AMQPDelivery]) {
        let resume: (CheckedContinuation<[AMQPDelivery]?, Never>, [AMQPDelivery])? = state.withLock { state in
            state.buffer += deliveries
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter.continuation, state.take(waiter.maxCount))
        }
        if let (continuation, deliveries) = resume { continuation.resume(returning: deliveries) }
    }

    /// Called when the connection closes for good.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.buffer.isEmpty ? state.waiter : nil
        }
        waiter?.continuation.resume(returning: nil)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: AMQPConsumer
        public mutating func next() async -> [AMQPDelivery]? { await consumer.next(maxCount: .max) }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: self) }
}
