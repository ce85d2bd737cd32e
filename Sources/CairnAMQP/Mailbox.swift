import Glibc
import Synchronization

/// A publish waiting for its publisher confirms. Touched only by the connection thread after it is sent.
final class PublishJob: @unchecked Sendable {
    let messages: [AMQPMessage]
    private let continuation: CheckedContinuation<Void, any Error>
    private var unconfirmed = 0
    private var failure: (any Error)?
    private var finished = false

    init(messages: [AMQPMessage], continuation: CheckedContinuation<Void, any Error>) {
        self.messages = messages
        self.continuation = continuation
    }

    func expectConfirm() { unconfirmed += 1 }

    /// Records one confirm (or refusal); resumes the waiter when the last one is in.
    func settle(failure: (any Error)? = nil) {
        if let failure, self.failure == nil { self.failure = failure }
        unconfirmed -= 1
        if unconfirmed <= 0 { finish() }
    }

    /// Ends the job now: every message not yet confirmed counts as failed.
    func abort(_ error: any Error) {
        if failure == nil { failure = error }
        finish()
    }

    /// Ends a job whose messages were all confirmed (or that had none).
    func finish() {
        guard !finished else { return }
        finished = true
        if let failure { continuation.resume(throwing: failure) } else { continuation.resume() }
    }
}

/// A consumer as the connection thread remembers it, so it can subscribe again after a reconnect.
struct ConsumerRegistration: Sendable {
    let queue: String
    let prefetch: UInt16
    let tag: String
    let consumer: AMQPConsumer
    /// The consumer's own channel, given by the connection thread when it registers the consumer.
    var channel: UInt16 = 0
    /// Cancelled on request (`AMQPConsumer.cancel()`): not subscribed again after a reconnect; its channel stays open
    /// for the acknowledgements of what it still holds until `AMQPConsumer.close()`.
    var cancelled = false
}

/// What the async side asks of the connection thread.
enum Command: Sendable {
    case publish(PublishJob)
    case declare(AMQPTopology, CheckedContinuation<Void, any Error>)
    case deleteQueue(String, CheckedContinuation<Void, any Error>)
    case consume(ConsumerRegistration)
    case get(String, CheckedContinuation<AMQPGetResult?, any Error>)
    case ack(AMQPDeliveryTag, multiple: Bool)
    case nack(AMQPDeliveryTag, multiple: Bool, requeue: Bool)
    /// Stops a consumer's deliveries (`basic.cancel`), by consumer tag.
    case cancel(String)
    /// Closes a consumer's channel and forgets the consumer, by consumer tag.
    case closeChannel(String)
}

/// Hands commands from any thread to the connection thread and wakes it through a pipe it polls beside its socket.
final class Mailbox: Sendable {
    private struct State {
        var commands: [Command] = []
        var closing = false
        var finished = false
        var connected = false
    }

    private let state = Mutex(State())
    private let wakeReader: Int32
    private let wakeWriter: Int32

    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe failed: \(errno)")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeReader = fds[0]
        wakeWriter = fds[1]
    }

    deinit {
        close(wakeReader)
        close(wakeWriter)
    }

    var wakeDescriptor: Int32 { wakeReader }

    /// Queues a command; false when the connection has finished and will take no more.
    func send(_ command: Command) -> Bool {
        let accepted = state.withLock { state in
            guard !state.finished else { return false }
            state.commands.append(command)
            return true
        }
        if accepted { wake() }
        return accepted
    }

    func requestClose() {
        state.withLock { $0.closing = true }
        wake()
    }

    /// Takes the queued commands and whether a close was asked for.
    func take() -> (commands: [Command], closing: Bool) {
        state.withLock { state in
            defer { state.commands.removeAll(keepingCapacity: true) }
            return (state.commands, state.closing)
        }
    }

    /// Marks the mailbox finished and returns what was still queued, so it can be failed.
    func finish() -> [Command] {
        state.withLock { state in
            state.finished = true
            state.connected = false
            defer { state.commands = [] }
            return state.commands
        }
    }

    var isClosing: Bool { state.withLock { $0.closing } }

    var isConnected: Bool {
        get { state.withLock { $0.connected } }
        set { state.withLock { $0.connected = newValue } }
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)  // EAGAIN means a wake-up is already pending: fine.
    }

    func drainWakeups() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeReader, &buffer, buffer.count) > 0 {}
    }
}
