import CRabbitMQ
import Glibc
import Logging

/// Owns one rabbitmq-c connection and runs on one dedicated thread: rabbitmq-c connections are not thread-safe and
/// every call blocks, so nothing here may run on the Swift concurrency pool.
///
/// The loop polls the socket and the mailbox's wake pipe together, so acks and publishes from the async side are
/// sent at once instead of waiting for a read timeout. After a failure it reconnects with exponential backoff,
/// declares the topology again and resubscribes its consumers.
final class ConnectionDriver {
    let configuration: AMQPConfiguration
    let mailbox: Mailbox
    var logger: Logger
    /// The channel for publishing (in confirm mode), declarations and `basic.get`. Each consumer has a channel of its
    /// own after it: delivery tags, and an acknowledgement of every tag up to one (`multiple`), belong to a channel,
    /// so two consumers sharing one would acknowledge each other's deliveries.
    let channel: amqp_channel_t = 1

    /// Everything declared so far, declared again on every reconnect.
    var topology: AMQPTopology
    var consumers: [ConsumerRegistration] = []
    var connection: amqp_connection_state_t?
    /// Bumped on every successful connect; delivery tags from older generations are stale.
    var generation: UInt64 = 0

    // Publisher confirms: tags count from 1 on each new channel in confirm mode.
    var nextPublishTag: UInt64 = 1
    var oldestUnconfirmed: UInt64 = 1
    var unconfirmed: [UInt64: PublishJob] = [:]
    /// Mandatory messages in flight, by publish tag, so a `basic.return` can be matched to its publish.
    var mandatoryMessages: [UInt64: String] = [:]
    var returnedTags: [UInt64: String] = [:]
    /// Set when the broker refused a publish; the channel is replaced before the next publish (`reopenChannel`).
    var channelRefusedPublish = false
    var pendingDeliveries: [String: [AMQPDelivery]] = [:]

    /// The brokers to try, and the one connected to (or tried next).
    let endpoints: [AMQPEndpoint]
    var endpointIndex = 0
    /// The configuration for the broker in use.
    var active: AMQPConfiguration { configuration.at(endpoints[endpointIndex]) }

    init(configuration: AMQPConfiguration, topology: AMQPTopology, mailbox: Mailbox, logger: Logger) {
        self.configuration = configuration
        self.endpoints = configuration.endpoints
        self.topology = topology
        self.mailbox = mailbox
        self.logger = logger
    }

    /// Runs until the owner asks to close. Never throws: failures turn into reconnects.
    ///
    /// After a failure the next of the configuration's endpoints is tried at once; only when every one of them has
    /// failed in a row does the wait double (so a cluster's node going away costs one reconnect, not a backoff).
    func run() {
        var delay = configuration.minReconnectDelay
        var failuresInARow = 0
        while !mailbox.isClosing {
            do {
                try connect()
                delay = configuration.minReconnectDelay
                failuresInARow = 0
                logger.info("AMQP connected", metadata: ["amqp.url": "\(active.redactedURL)"])
                try serve()
                disconnect(error: AMQPError.closed("connection closed by its owner"), graceful: true)
            } catch {
                failuresInARow += 1
                let roundFailed = failuresInARow % endpoints.count == 0
                let failedURL = active.redactedURL
                endpointIndex = (endpointIndex + 1) % endpoints.count
                logger.warning(
                    "AMQP connection failed; reconnecting",
                    metadata: [
                        "amqp.url": "\(failedURL)", "error": "\(error)", "amqp.next_url": "\(active.redactedURL)",
                        "amqp.retry_in": "\(roundFailed ? delay : configuration.minReconnectDelay)",
                    ]
                )
                disconnect(error: error, graceful: false)
                if roundFailed {
                    waitDisconnected(for: delay)
                    delay = min(delay * 2, configuration.maxReconnectDelay)
                } else {
                    waitDisconnected(for: configuration.minReconnectDelay)
                }
            }
        }
        for command in mailbox.finish() {
            fail(command, with: AMQPError.closed("connection closed"))
        }
        for registration in consumers { registration.consumer.finish() }
    }

    // MARK: Connecting

    private func connect() throws {
        guard let state = amqp_new_connection() else { throw AMQPError.protocolError("out of memory") }
        connection = state
        let socket = try makeSocket(state)
        var connectTimeout = timeval(configuration.connectTimeout)
        let status = amqp_socket_open_noblock(socket, active.host, Int32(active.port), &connectTimeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError.unavailable("cannot reach \(active.redactedURL): \(Self.describe(status))")
        }
        _ = amqp_set_handshake_timeout(state, &connectTimeout)
        var rpcTimeout = timeval(.seconds(30))
        _ = amqp_set_rpc_timeout(state, &rpcTimeout)
        let heartbeat = Int32(configuration.heartbeat.components.seconds)
        try check(
            cairn_amqp_login_plain(
                state, configuration.virtualHost, 0, 131_072, heartbeat, configuration.user, configuration.password),
            "log in to \(active.redactedURL)")
        try openPublishingChannel(state)
        generation += 1
        try declareNow(topology)
        for consumer in consumers where !consumer.cancelled { try subscribe(consumer) }
        mailbox.isConnected = true
    }

    /// Opens the publishing channel in confirm mode: its publish tags count from 1, and nothing on it was refused yet.
    func openPublishingChannel(_ state: amqp_connection_state_t) throws {
        amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), "open channel")
        amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), "enable publisher confirms")
        channelRefusedPublish = false
        nextPublishTag = 1
        oldestUnconfirmed = 1
    }

    /// A TCP socket, or for `amqps://` a TLS one set up from the configuration (rabbitmq-c verifies the peer's chain
    /// and host name by default; both are turned off only by `verify=verify_none`).
    private func makeSocket(_ state: amqp_connection_state_t) throws -> OpaquePointer {
        guard let tls = configuration.tls else {
            guard let socket = amqp_tcp_socket_new(state) else { throw AMQPError.protocolError("cannot create socket") }
            return socket
        }
        guard let socket = amqp_ssl_socket_new(state) else { throw AMQPError.protocolError("cannot create a TLS socket") }
        let verify: amqp_boolean_t = tls.verification == .verifyPeer ? 1 : 0
        amqp_ssl_socket_set_verify_peer(socket, verify)
        amqp_ssl_socket_set_verify_hostname(socket, verify)
        if let file = tls.caCertificateFile, amqp_ssl_socket_set_cacert(socket, file) != AMQP_STATUS_OK.rawValue {
            throw AMQPError.invalidURL("cacertfile: \(file) holds no PEM certificate OpenSSL can load")
        }
        if let certificate = tls.certificateFile, let key = tls.keyFile,
            amqp_ssl_socket_set_key(socket, certificate, key) != AMQP_STATUS_OK.rawValue
        {
            throw AMQPError.invalidURL("certfile/keyfile: \(certificate) and \(key) are not a PEM certificate and its key")
        }
        return socket
    }

    /// Fails everything in flight with the error that ended the connection and frees the connection.
    private func disconnect(error: any Error, graceful: Bool) {
        mailbox.isConnected = false
        let lost = (error as? AMQPError).map { $0.isTransient ? $0 : AMQPError.connectionLost($0.message) }
            ?? AMQPError.connectionLost("\(error)")
        for job in unconfirmed.values { job.abort(lost) }
        unconfirmed.removeAll()
        mandatoryMessages.removeAll()
        returnedTags.removeAll()
        pendingDeliveries.removeAll()
        guard let state = connection else { return }
        if graceful {
            // Bounded: a busy broker can be slow to answer a close (it hands a quorum queue consumer's unacknowledged
            // deliveries back first). Every ack is already written to the socket, and to the broker a socket dropped
            // after them means the same as a close. Closing the connection closes its channel.
            var closeTimeout = timeval(.seconds(2))
            _ = amqp_set_rpc_timeout(state, &closeTimeout)
            let started = ContinuousClock.now
            let reply = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
            logger.info(
                "AMQP connection closed",
                metadata: ["amqp.url": "\(active.redactedURL)", "amqp.close_took": "\(ContinuousClock.now - started)",
                           "amqp.close_answered": "\(reply.reply_type.rawValue == AMQP_RESPONSE_NORMAL.rawValue)"])
        }
        amqp_destroy_connection(state)
        connection = nil
    }

    /// Sleeps between reconnect attempts while still answering commands, so callers learn at once that the
    /// broker is away instead of waiting for it.
    private func waitDisconnected(for delay: Duration) {
        let deadline = ContinuousClock.now + delay
        while !mailbox.isClosing {
            let (commands, _) = mailbox.take()
            for command in commands {
                switch command {
                case .consume(let registration): register(registration)
                case .ack, .nack: continue  // stale: the broker redelivers those messages
                case .cancel, .closeChannel: try? execute(command)  // only forgets the consumer while disconnected
                default: fail(command, with: AMQPError.unavailable("broker \(active.redactedURL) unreachable"))
                }
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return }
            var fds = [pollfd(fd: mailbox.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, Int32(remaining.milliseconds))
            mailbox.drainWakeups()
        }
    }

    // MARK: Serving

    /// Runs commands and reads frames until a close is asked for and the last confirms are in.
    private func serve() throws {
        guard let state = connection else { return }
        let socket = amqp_get_sockfd(state)
        let idleTimeout = Int32(max(min(configuration.heartbeat / 4, .seconds(1)), .milliseconds(10)).milliseconds)
        var closeDeadline: ContinuousClock.Instant?
        while true {
            let (commands, closing) = mailbox.take()
            for command in commands { try execute(command) }
            let moreBuffered = try readAvailableFrames()
            flushDeliveries()
            if closing {
                let deadline = closeDeadline ?? ContinuousClock.now + .seconds(5)
                closeDeadline = deadline
                if unconfirmed.isEmpty || ContinuousClock.now >= deadline { return }
            }
            if moreBuffered || amqp_frames_enqueued(state) != 0 { continue }
            var fds = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: mailbox.wakeDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, closing ? 10 : idleTimeout)
            if ready < 0 && errno != EINTR { throw AMQPError.connectionLost("poll failed: errno \(errno)") }
            if fds[1].revents != 0 { mailbox.drainWakeups() }
        }
    }

    /// Keeps a new consumer, on the lowest free channel after the publishing one, so it is subscribed now and after
    /// every reconnect. A channel is free again once its consumer's owner closed it (`closeChannel`), which comes
    /// after that consumer's last acknowledgement.
    func register(_ registration: ConsumerRegistration) {
        var registration = registration
        let used = Set(consumers.map(\.channel))
        registration.channel = ((channel + 1)...).first { !used.contains($0) }!
        consumers.append(registration)
    }

    /// Hands each consumer what arrived in this round, as one array.
    func flushDeliveries() {
        guard !pendingDeliveries.isEmpty else { return }
        for registration in consumers {
            if let deliveries = pendingDeliveries[registration.tag], !deliveries.isEmpty {
                registration.consumer.deliver(deliveries)
            }
        }
        pendingDeliveries.removeAll(keepingCapacity: true)
    }

    // MARK: Helpers

    func check(_ reply: amqp_rpc_reply_t, _ what: String) throws {
        switch reply.reply_type.rawValue {
        case AMQP_RESPONSE_NORMAL.rawValue:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION.rawValue:
            if reply.reply.id == CAIRN_AMQP_CHANNEL_CLOSE_METHOD || reply.reply.id == CAIRN_AMQP_CONNECTION_CLOSE_METHOD {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                throw AMQPError.protocolError("cannot \(what): \(close.reply_code) \(close.reply_text.string)")
            }
            throw AMQPError.protocolError("cannot \(what): broker answered method \(reply.reply.id)")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION.rawValue:
            let error = AMQPError.connectionLost("cannot \(what): \(Self.describe(reply.library_error))")
            throw error
        default:
            throw AMQPError.protocolError("cannot \(what): no reply")
        }
    }

    static func describe(_ status: Int32) -> String {
        String(cString: amqp_error_string2(status))
    }
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = cairn_timeval(Int(seconds), Int(attoseconds / 1_000_000_000_000))
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
