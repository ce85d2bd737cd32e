import CRabbitMQ
import Glibc
import Logging

extension ConnectionDriver {
    /// Reads every frame that is available without blocking. Returns true when it stopped early with more to read.
    func readAvailableFrames() throws -> Bool {
        guard let state = connection else { return false }
        var immediately = timeval(.zero)
        defer { amqp_maybe_release_buffers(state) }
        for _ in 0..<2048 {
            var frame = amqp_frame_t()
            let status = amqp_simple_wait_frame_noblock(state, &frame, &immediately)
            if status == AMQP_STATUS_TIMEOUT.rawValue { return false }
            guard status == AMQP_STATUS_OK.rawValue else {
                throw AMQPError.connectionLost("connection to \(active.redactedURL) lost: \(Self.describe(status))")
            }
            guard frame.frame_type == AMQP_FRAME_METHOD else { continue }
            try handleMethod(frame.payload.method, channel: frame.channel)
        }
        return true
    }

    private func handleMethod(_ method: amqp_method_t, channel: amqp_channel_t) throws {
        switch method.id {
        case CAIRN_AMQP_BASIC_DELIVER_METHOD:
            let deliver = method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let consumerTag = deliver.consumer_tag.string
            let exchange = deliver.exchange.string
            let routingKey = deliver.routing_key.string
            let message = try readContent(channel: channel)
            let delivery = AMQPDelivery(
                tag: AMQPDeliveryTag(generation: generation, channel: channel, value: deliver.delivery_tag),
                exchange: exchange, routingKey: routingKey, redelivered: deliver.redelivered != 0,
                messageID: message.messageID, contentType: message.contentType, headers: message.headers,
                body: message.body)
            pendingDeliveries[consumerTag, default: []].append(delivery)
        case CAIRN_AMQP_BASIC_ACK_METHOD where channel == self.channel:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            confirm(upTo: ack.delivery_tag, multiple: ack.multiple != 0, refused: false)
        case CAIRN_AMQP_BASIC_NACK_METHOD where channel == self.channel:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            confirm(upTo: nack.delivery_tag, multiple: nack.multiple != 0, refused: true)
        case CAIRN_AMQP_BASIC_RETURN_METHOD:
            let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let reason = "\(returned.reply_code) \(returned.reply_text.string): exchange \(returned.exchange.string), key \(returned.routing_key.string)"
            let message = try readContent(channel: channel)
            if let messageID = message.messageID,
                let tag = mandatoryMessages.filter({ $0.value == messageID && returnedTags[$0.key] == nil }).keys.min()
            {
                returnedTags[tag] = reason
            }
        case CAIRN_AMQP_BASIC_CANCEL_METHOD:
            throw AMQPError.protocolError("the broker cancelled a consumer (queue deleted?)")
        case CAIRN_AMQP_CHANNEL_CLOSE_METHOD, CAIRN_AMQP_CONNECTION_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            throw AMQPError.protocolError("the broker closed the channel: \(close.reply_code) \(close.reply_text.string)")
        case CAIRN_AMQP_CONNECTION_BLOCKED_METHOD:
            logger.warning("AMQP connection blocked by the broker (resource alarm)")
        case CAIRN_AMQP_CONNECTION_UNBLOCKED_METHOD:
            logger.info("AMQP connection unblocked")
        default:
            logger.debug("AMQP method ignored", metadata: ["amqp.method": "\(method.id)"])
        }
    }

    /// Reads the header and body frames that follow a deliver or return, copying them into Swift memory.
    func readContent(channel: amqp_channel_t) throws -> (messageID: String?, contentType: String?, headers: [String: String], body: [UInt8]) {
        guard let state = connection else { throw AMQPError.connectionLost("not connected") }
        var message = amqp_message_t()
        try check(amqp_read_message(state, channel, &message, 0), "read message content")
        defer { amqp_destroy_message(&message) }
        let properties = message.properties
        let flags = properties._flags
        return (
            messageID: flags & CAIRN_AMQP_BASIC_MESSAGE_ID_FLAG != 0 ? properties.message_id.string : nil,
            contentType: flags & CAIRN_AMQP_BASIC_CONTENT_TYPE_FLAG != 0 ? properties.content_type.string : nil,
            headers: flags & CAIRN_AMQP_BASIC_HEADERS_FLAG != 0 ? properties.headers.stringValues : [:],
            body: message.body.array
        )
    }

    /// Settles publisher confirms: one tag, or every tag up to it when `multiple`.
    private func confirm(upTo tag: UInt64, multiple: Bool, refused: Bool) {
        if multiple {
            if oldestUnconfirmed <= tag {
                for settled in oldestUnconfirmed...tag { settle(settled, refused: refused) }
            }
            oldestUnconfirmed = max(oldestUnconfirmed, tag + 1)
        } else {
            settle(tag, refused: refused)
            while oldestUnconfirmed < nextPublishTag, unconfirmed[oldestUnconfirmed] == nil { oldestUnconfirmed += 1 }
        }
    }

    private func settle(_ tag: UInt64, refused: Bool) {
        guard let job = unconfirmed.removeValue(forKey: tag) else { return }
        mandatoryMessages.removeValue(forKey: tag)
        if let reason = returnedTags.removeValue(forKey: tag) {
            job.settle(failure: AMQPError.unroutable("message returned: \(reason)"))
        } else if refused {
            channelRefusedPublish = true
            job.settle(failure: AMQPError.nacked("the broker refused the message (basic.nack)"))
        } else {
            job.settle()
        }
    }
}
