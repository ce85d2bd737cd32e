import CairnAMQP
import Testing

@Suite("AMQP configuration")
struct AMQPConfigurationTests {
    @Test("A full URL gives host, port, credentials and the decoded vhost")
    func parsesURL() throws {
        let configuration = try AMQPConfiguration(url: "amqp://cairn:s%40cret@broker.internal:5673/cairn%2Fprod")
        #expect(configuration.host == "broker.internal")
        #expect(configuration.port == 5673)
        #expect(configuration.user == "cairn")
        #expect(configuration.password == "s@cret")
        #expect(configuration.virtualHost == "cairn/prod")
    }

    @Test("%2f and an empty path both mean the default vhost")
    func defaultVirtualHost() throws {
        #expect(try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:5672/%2f").virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://127.0.0.1").virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://127.0.0.1").port == 5672)
    }

    @Test("Bad URLs are refused without echoing the password", arguments: [
        "http://guest:hunter2@127.0.0.1/", "amqp://guest:hunter2@/x", "not a url", "amqp://guest:hunter2@h/a/b",
    ])
    func refusesBadURLs(url: String) {
        #expect { try AMQPConfiguration(url: url) } throws: { error in
            !"\(error)".contains("hunter2")
        }
    }

    @Test("The redacted URL has no password")
    func redacts() throws {
        #expect(try AMQPConfiguration(url: "amqp://u:p4ss@h:1/v").redactedURL == "amqp://u@h:1/v")
    }

    @Test("Quorum queues carry the dead-letter exchange and a delivery limit")
    func quorumQueueArguments() {
        let queue = AMQPQueue.quorum("q", deadLetterExchange: "dlx", deliveryLimit: 5)
        #expect(queue.arguments["x-queue-type"] == .string("quorum"))
        #expect(queue.arguments["x-dead-letter-exchange"] == .string("dlx"))
        #expect(queue.arguments["x-delivery-limit"] == .int(5))
    }
}
