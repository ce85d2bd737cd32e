public import Logging

extension AMQPConnection {
    /// Publishes like `publish(_:)`, and publishes the messages again after a failure that another try can cure
    /// (`AMQPError.isRetryablePublish`: the broker away, the connection dropped, a nack), with backoff from 0.1 s
    /// to 2 s, for at most `patience`. Other errors, and the last retryable one once `patience` has passed, are
    /// thrown. A message may reach its queue twice (a confirm lost with the connection); consumers deduplicate by
    /// message id.
    public func publish(_ messages: [AMQPMessage], retryingFor patience: Duration, logger: Logger) async throws {
        let deadline = ContinuousClock.now + patience
        var delay = Duration.milliseconds(100)
        while true {
            do {
                return try await publish(messages)
            } catch let error as AMQPError where error.isRetryablePublish && ContinuousClock.now + delay < deadline {
                logger.warning(
                    "publish failed; sending again", metadata: ["error": "\(error)", "amqp.retry_in": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }
}
