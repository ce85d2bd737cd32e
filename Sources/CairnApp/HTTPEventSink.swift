public import CairnCore
public import CairnSimulator
public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends simulated events through Cairn's Segment-compatible HTTP ingest, as the Segment libraries would: `/v1/batch`
/// calls of at most 500 events and 400 KB, each sent again (after `Retry-After`, or a growing delay) until ingest
/// answers 200. Any other answer (a bad write key, a refused event) ends the run with ingest's error.
public actor HTTPEventSink: EventSink {
    let batchURL: URL
    let authorization: String
    public private(set) var sent = 0
    /// Batches sent again: answered 429 or 5xx (503 while the broker is away), or ingest not reachable.
    public private(set) var retries = 0

    /// Sends each event's `receivedAt` as its `sentAt`: for an ingest on the stream clock, which takes it as the
    /// arrival (a simulation's history, sent at the start of its period). Never for one on the wall clock, which
    /// would correct every timestamp by the difference.
    let sendsArrival: Bool

    public init(ingest: URL, writeKey: String, sendsArrival: Bool = false) {
        batchURL = ingest.appendingPathComponent("v1").appendingPathComponent("batch")
        authorization = "Basic " + Data("\(writeKey):".utf8).base64EncodedString()
        self.sendsArrival = sendsArrival
    }

    public func write(_ events: [AccountEvent]) async throws {
        // Each call serialized once; a batch body is `{"batch":[` the calls joined by commas `]}`.
        var batch: [[UInt8]] = []
        var bytes = 0
        for event in events {
            var message = event.segmentCall
            if sendsArrival, case .object(var fields) = message, let arrival = event.receivedAt {
                fields["sentAt"] = .string(Timestamp.format(arrival))
                message = .object(fields)
            }
            let call = message.serialized()
            if !batch.isEmpty, batch.count >= 500 || bytes + call.count + 1 > 400_000 {
                try await send(batch)
                (batch, bytes) = ([], 0)
            }
            batch.append(call)
            bytes += call.count + 1
        }
        if !batch.isEmpty { try await send(batch) }
    }

    public func finish() async throws {}

    private func send(_ batch: [[UInt8]]) async throws {
        var request = URLRequest(url: batchURL)
        request.httpMethod = "POST"
        request.setValue(authorization, forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(Array(#"{"batch":["#.utf8) + Array(batch.joined(separator: [UInt8(ascii: ",")])) + Array("]}".utf8))
        request.timeoutInterval = 30
        var delay = 0.1
        var failures = 0
        while true {
            let wait: Double
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if status == 200 {
                    sent += batch.count
                    return
                }
                guard status == 429 || status >= 500 else {
                    throw SimulatorError(.output, "ingest at \(batchURL) answered \(status): \(String(decoding: data.prefix(500), as: UTF8.self))")
                }
                let retryAfter = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After").flatMap(Double.init)
                wait = retryAfter ?? delay
            } catch let error as SimulatorError {
                throw error
            } catch {
                // Ingest not reachable (yet, or restarting): keep the batch and try again, for up to about a minute.
                failures += 1
                guard failures <= 60 else { throw SimulatorError(.output, "cannot reach ingest at \(batchURL): \(error)") }
                wait = delay
            }
            retries += 1
            try await Task.sleep(for: .seconds(wait))
            delay = min(delay * 2, 2)
        }
    }
}
