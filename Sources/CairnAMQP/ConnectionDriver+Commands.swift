import CRabbitMQ
import Glibc
import Logging

extension ConnectionDriver {
    func execute(_ command: Command) throws {
        switch command {
        case .publish(let job):
            try publish(job)
        case .declare(let declaration, let continuation):
            do {
                try declareNow(declaration)
                topology = topology + declaration
                continuation.resume()
            } catch {
                // The broker closes the channel on a refused declaration: report it, then reconnect.
                continuation.resume(throwing: AMQPError.declarationFailed("\(error)"))
                throw error
            }
        case .deleteQueue(let queue, let continuation):
            do {
                try deleteNow(queue)
                topology.queues.removeAll { $0.name == queue }
                topology.bindings.removeAll { $0.queue == queue }
                continuation.resume()
            } catch {
                continuation.resume(throwing: AMQPError.declarationFailed("\(error)"))
                throw error
            }
        case .consume(let registration):
            register(registration)
            try subscribe(consumers[consumers.count - 1])
        case .get(let queue, let continuation):
            do {
                continuation.resume(returning: try getNow(queue))
            } catch {
                // A refused get (no such queue) closes the channel: report it, then reconnect.
                continuation.resume(throwing: error as? AMQPError ?? AMQPError.protocolError("\(error)"))
                throw error
            }
        case .ack(let tag, let multiple):
            guard tag.generation == generation, let state = connection else { return }
            let status = amqp_basic_ack(state, tag.channel, tag.value, multiple ? 1 : 0)
            guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError.connectionLost("ack failed: \(Self.describe(status))") }
        case .nack(let tag, let multiple, let requeue):
            guard tag.generation == generation, let state = connection else { return }
            let status = amqp_basic_nack(state, tag.channel, tag.value, multiple ? 1 : 0, requeue ? 1 : 0)
            guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError.connectionLost("nack failed: \(Self.describe(status))") }
        case .cancel(let tag):
            try cancel(tag)
        case .closeChannel(let tag):
            guard let index = consumers.firstIndex(where: { $0.tag == tag }) else { return }
            let registration = consumers.remove(at: index)
            registration.consumer.finish()
            guard let state = connection else { return }
            try check(amqp_channel_close(state, registration.channel, AMQP_REPLY_SUCCESS), "close channel of \(registration.queue)")
        }
    }

    /// Cancels a consumer: the broker sends it nothing more (a single-active-consumer queue then activates its next
    /// consumer). What arrived before the broker's `cancel-ok` is handed to the consumer first, then it is finished,
    /// so its owner can apply and acknowledge every delivery it got.
    private func cancel(_ tag: String) throws {
        guard let index = consumers.firstIndex(where: { $0.tag == tag }), !consumers[index].cancelled else { return }
        consumers[index].cancelled = true
        let registration = consumers[index]
        if let state = connection {
            try withArena { arena in
                amqp_basic_cancel(state, registration.channel, arena.bytes(tag))
                try check(amqp_get_rpc_reply(state), "cancel the consumer of \(registration.queue)")
            }
            // Frames read while waiting for cancel-ok were queued by rabbitmq-c: read them all now.
            while try readAvailableFrames() {}
            flushDeliveries()
        }
        registration.consumer.finish()
    }

    func fail(_ command: Command, with error: AMQPError) {
        switch command {
        case .publish(let job): job.abort(error)
        case .declare(_, let continuation), .deleteQueue(_, let continuation): continuation.resume(throwing: error)
        case .consume(let registration): registration.consumer.finish()
        case .get(_, let continuation): continuation.resume(throwing: error)
        case .ack, .nack, .closeChannel: break
        case .cancel(let tag): consumers.first { $0.tag == tag }?.consumer.finish()
        }
    }

    /// Publishes every message of the job; the job finishes when the broker has confirmed them all.
    private func publish(_ job: PublishJob) throws {
        guard let state = connection else { return job.abort(AMQPError.unavailable("not connected")) }
        if job.messages.isEmpty { return job.finish() }
        if channelRefusedPublish && unconfirmed.isEmpty {
            do {
                try reopenChannel(state)
            } catch {
                job.abort(error)
                throw error
            }
        }
        for message in job.messages {
            let status = withArena { arena -> Int32 in
                var properties = amqp_basic_properties_t()
                properties._flags = CAIRN_AMQP_BASIC_CONTENT_TYPE_FLAG | CAIRN_AMQP_BASIC_DELIVERY_MODE_FLAG
                properties.content_type = arena.bytes(message.contentType)
                properties.delivery_mode = message.persistent ? 2 : 1
                if let messageID = message.messageID {
                    properties._flags |= CAIRN_AMQP_BASIC_MESSAGE_ID_FLAG
                    properties.message_id = arena.bytes(messageID)
                }
                if !message.headers.isEmpty {
                    properties._flags |= CAIRN_AMQP_BASIC_HEADERS_FLAG
                    properties.headers = arena.table(message.headers.mapValues { .string($0) })
                }
                return message.body.withUnsafeBytes { body in
                    let bytes = amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress))
                    return amqp_basic_publish(
                        state, channel, arena.bytes(message.exchange), arena.bytes(message.routingKey),
                        message.mandatory ? 1 : 0, 0, &properties, bytes)
                }
            }
            guard status == AMQP_STATUS_OK.rawValue else {
                job.abort(AMQPError.connectionLost("publish failed: \(Self.describe(status))"))
                throw AMQPError.connectionLost("publish failed: \(Self.describe(status))")
            }
            let tag = nextPublishTag
            nextPublishTag += 1
            job.expectConfirm()
            unconfirmed[tag] = job
            if message.mandatory, let messageID = message.messageID { mandatoryMessages[tag] = messageID }
        }
    }

    /// Replaces the publishing channel with a new one in confirm mode, once nothing on it awaits a confirm.
    ///
    /// RabbitMQ 3.10.8 kept refusing (basic.nack) every publish of a channel that had first published while a cluster
    /// node was just killed and its quorum queues were electing new leaders, until that node came back (12 to 16 s in
    /// the fault suite, 60 s and more in one run), while a channel opened a few seconds later published through the
    /// same exchanges to the same queues at once (RELIABILITY.md, the node-kill row). A refused publish is rare
    /// otherwise, so a new channel after one costs little.
    private func reopenChannel(_ state: amqp_connection_state_t) throws {
        try check(amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS), "close the publishing channel")
        try openPublishingChannel(state)
        mandatoryMessages.removeAll()
        returnedTags.removeAll()
        logger.info("publishing channel replaced after a refused publish", metadata: ["amqp.url": "\(active.redactedURL)"])
    }

    /// Declares exchanges, then queues, then bindings (queues', then exchanges'). Declarations are idempotent on the broker.
    func declareNow(_ declaration: AMQPTopology) throws {
        guard let state = connection, !declaration.isEmpty else { return }
        try withArena { arena in
            for exchange in declaration.exchanges {
                amqp_exchange_declare(
                    state, channel, arena.bytes(exchange.name), arena.bytes(exchange.kind.rawValue), 0, 1, 0, 0,
                    amqp_empty_table)
                do {
                    try check(amqp_get_rpc_reply(state), "declare exchange \(exchange.name)")
                } catch let error as AMQPError where exchange.kind == .consistentHash {
                    throw AMQPError.protocolError(
                        "\(error.message) (exchange type \(exchange.kind.rawValue) needs the broker plugin "
                            + "rabbitmq_consistent_hash_exchange: rabbitmq-plugins enable rabbitmq_consistent_hash_exchange)")
                }
            }
            for queue in declaration.queues {
                amqp_queue_declare(state, channel, arena.bytes(queue.name), 0, 1, 0, 0, arena.table(queue.arguments))
                try check(amqp_get_rpc_reply(state), "declare queue \(queue.name)")
            }
            for binding in declaration.bindings {
                amqp_queue_bind(
                    state, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                    arena.bytes(binding.routingKey), amqp_empty_table)
                try check(amqp_get_rpc_reply(state), "bind \(binding.queue) to \(binding.exchange)")
            }
            for binding in declaration.exchangeBindings {
                amqp_exchange_bind(
                    state, channel, arena.bytes(binding.destination), arena.bytes(binding.source),
                    arena.bytes(binding.routingKey), amqp_empty_table)
                try check(amqp_get_rpc_reply(state), "bind exchange \(binding.destination) to \(binding.source)")
            }
        }
    }

    /// `basic.get` without auto-ack: the next ready message of `queue`, unacknowledged, or nil when it is empty.
    private func getNow(_ queue: String) throws -> AMQPGetResult? {
        guard let state = connection else { throw AMQPError.unavailable("not connected") }
        let ok: (tag: UInt64, exchange: String, routingKey: String, redelivered: Bool, remaining: Int)? = try withArena { arena in
            let reply = amqp_basic_get(state, channel, arena.bytes(queue), 0)
            try check(reply, "get from \(queue)")
            guard reply.reply.id == CAIRN_AMQP_BASIC_GET_OK_METHOD else { return nil }  // basic.get-empty
            // Copied out before the content frames are read: the decoded method lives in the library's buffers.
            let ok = reply.reply.decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
            return (ok.delivery_tag, ok.exchange.string, ok.routing_key.string, ok.redelivered != 0, Int(ok.message_count))
        }
        guard let ok else { return nil }
        let message = try readContent(channel: channel)
        let delivery = AMQPDelivery(
            tag: AMQPDeliveryTag(generation: generation, channel: channel, value: ok.tag), exchange: ok.exchange, routingKey: ok.routingKey,
            redelivered: ok.redelivered, messageID: message.messageID, contentType: message.contentType,
            headers: message.headers, body: message.body)
        return AMQPGetResult(delivery: delivery, remaining: ok.remaining)
    }

    private func deleteNow(_ queue: String) throws {
        guard let state = connection else { throw AMQPError.unavailable("not connected") }
        try withArena { arena in
            amqp_queue_delete(state, channel, arena.bytes(queue), 0, 0)
            try check(amqp_get_rpc_reply(state), "delete queue \(queue)")
        }
    }

    /// Opens the consumer's channel, sets its prefetch and starts consuming on it.
    func subscribe(_ consumer: ConsumerRegistration) throws {
        guard let state = connection else { return }
        amqp_channel_open(state, consumer.channel)
        try check(amqp_get_rpc_reply(state), "open channel \(consumer.channel) for \(consumer.queue)")
        amqp_basic_qos(state, consumer.channel, 0, consumer.prefetch, 0)
        try check(amqp_get_rpc_reply(state), "set prefetch for \(consumer.queue)")
        try withArena { arena in
            amqp_basic_consume(
                state, consumer.channel, arena.bytes(consumer.queue), arena.bytes(consumer.tag), 0, 0, 0, amqp_empty_table)
            try check(amqp_get_rpc_reply(state), "consume \(consumer.queue)")
        }
    }
}
