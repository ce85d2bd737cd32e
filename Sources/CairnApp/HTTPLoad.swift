import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A closed-loop HTTP/1.1 load: `connections` keep-alive connections, each sending request after request for `duration`,
/// recording the latency of every response. wrk's latency histogram held only 4–28% as many latencies as it made
/// requests for endpoints answering in under a millisecond, so its percentiles there were not the requests'; this
/// client keeps them all (`LatencySummary` sorts every sample). One blocking thread per connection: the client is
/// small, and a connection's next request waits for its answer anyway.
public struct HTTPLoad: Sendable {
    /// One request to send: a GET, or a POST of a JSON body.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var body: [UInt8]

        public init(method: String = "GET", path: String, body: [UInt8] = []) {
            self.method = method
            self.path = path
            self.body = body
        }
    }

    public var host: String
    public var port: Int
    /// Taken in turn (spread over the connections).
    public var requests: [Request]
    public var headers: [(String, String)]
    public var connections: Int
    public var duration: Duration

    public init(host: String, port: Int, requests: [Request], headers: [(String, String)], connections: Int, duration: Duration) {
        self.host = host
        self.port = port
        self.requests = requests
        self.headers = headers
        self.connections = connections
        self.duration = duration
    }

    /// GET requests of `paths`, taken in turn.
    public init(host: String, port: Int, paths: [String], headers: [(String, String)], connections: Int, duration: Duration) {
        self.init(host: host, port: port, requests: paths.map { Request(path: $0) }, headers: headers, connections: connections,
                  duration: duration)
    }

    public struct Result: Sendable, Codable {
        /// Responses to the requests sent within the duration.
        public var requests: Int
        /// From the first request to the last response.
        public var seconds: Double
        /// Responses whose status was not 2xx.
        public var non2xx: Int
        /// Connections that failed (refused, reset, no answer within 10 s, malformed response); each is reopened.
        public var errors: Int
        /// Over every response, so `latency.count == requests`.
        public var latency: LatencySummary
    }

    public func run() async throws -> Result {
        guard !requests.isEmpty, connections > 0 else { throw BenchmarkError(description: "http load needs requests and connections") }
        let address = try Self.resolve(host: host, port: port)
        // Written once, before the clock starts, and shared by every connection.
        let requests = self.requests.map { request -> [UInt8] in
            var text = "\(request.method) \(request.path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            if !request.body.isEmpty { text += "Content-Type: application/json\r\nContent-Length: \(request.body.count)\r\n" }
            return Array((text + "\r\n").utf8) + request.body
        }
        let start = ContinuousClock.now
        let deadline = start + duration
        let outcomes = await withTaskGroup(of: ConnectionOutcome.self) { group in
            for index in 0..<connections {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        let thread = Thread {
                            continuation.resume(returning: self.drive(requests, address: address, first: index, deadline: deadline))
                        }
                        thread.stackSize = 1 << 20
                        thread.start()
                    }
                }
            }
            var all: [ConnectionOutcome] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let seconds = (ContinuousClock.now - start).seconds
        let latencies = outcomes.flatMap(\.latencies)
        return Result(
            requests: latencies.count, seconds: seconds,
            non2xx: outcomes.reduce(0) { $0 + $1.non2xx }, errors: outcomes.reduce(0) { $0 + $1.errors },
            latency: LatencySummary(latencies))
    }

    struct ConnectionOutcome: Sendable {
        var latencies: [Double] = []
        var non2xx = 0
        var errors = 0
    }

    /// One connection's loop, on its own thread. Requests are taken from `first` on, `connections` apart.
    func drive(_ requests: [[UInt8]], address: sockaddr_in, first: Int, deadline: ContinuousClock.Instant) -> ConnectionOutcome {
        var outcome = ConnectionOutcome()
        outcome.latencies.reserveCapacity(100_000)
        var next = first % requests.count
        var connection: HTTPConnection?
        while ContinuousClock.now < deadline {
            do {
                if connection == nil { connection = try HTTPConnection(address: address) }
                let sent = ContinuousClock.now
                let status = try connection!.exchange(requests[next])
                let received = ContinuousClock.now
                next = (next + connections) % requests.count
                // A request sent before the deadline counts even when its answer comes after it (and `seconds` runs
                // until the last answer): dropping those reported no requests at all when a stall outlasted the run.
                outcome.latencies.append((received - sent).seconds)
                if !(200..<300).contains(status) { outcome.non2xx += 1 }
            } catch {
                outcome.errors += 1
                connection = nil
                if ContinuousClock.now < deadline { usleep(10_000) }
            }
        }
        return outcome
    }

    static func resolve(host: String, port: Int) throws -> sockaddr_in {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list, let address = first.pointee.ai_addr else {
            throw BenchmarkError(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
    }
}

/// A blocking keep-alive HTTP/1.1 connection that reads each response whole (Content-Length or chunked).
final class HTTPConnection {
    struct Failure: Error {}

    private let socket: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var scratch = [UInt8](repeating: 0, count: 1 << 16)

    init(address: sockaddr_in) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure() }
        var one: Int32 = 1
        _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // An answer that does not come within 10 s is an error (as wrk's --timeout 10s), not a hung run.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw Failure()
        }
        buffer.reserveCapacity(1 << 16)
    }

    deinit { close(socket) }

    /// Sends `request` and reads its response; returns the status code.
    func exchange(_ request: [UInt8]) throws -> Int {
        var written = 0
        while written < request.count {
            let count = request.withUnsafeBytes { send(socket, $0.baseAddress! + written, request.count - written, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw Failure() }
            written += count
        }
        let headerEnd = try readUntil([13, 10, 13, 10])
        let head = String(decoding: buffer[start..<headerEnd], as: UTF8.self).lowercased()
        start = headerEnd + 4
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("http/1."),
              let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else { throw Failure() }
        func header(_ name: String) -> String? {
            lines.dropFirst().first { $0.hasPrefix(name + ":") }.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        if let length = header("content-length").flatMap(Int.init) {
            try skip(length)
        } else if header("transfer-encoding")?.contains("chunked") == true {
            while true {
                let lineEnd = try readUntil([13, 10])
                let sizeText = String(decoding: buffer[start..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure() }
                start = lineEnd + 2
                try skip(size + 2)  // the chunk and its CRLF (after the last, empty chunk: the final CRLF)
                if size == 0 { break }
            }
        } else {
            throw Failure()  // a response delimited by closing the connection: not what the API sends
        }
        return status
    }

    /// The index in `buffer` where `marker` begins, at or after `start`, reading more as needed.
    private func readUntil(_ marker: [UInt8]) throws -> Int {
        if start == buffer.count {  // all consumed: start the buffer again (only here, where no index is held)
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        var searched = start
        while true {
            if buffer.count - searched >= marker.count {
                let last = buffer.count - marker.count
                var index = searched
                while index <= last {
                    if buffer[index..<(index + marker.count)].elementsEqual(marker) { return index }
                    index += 1
                }
                searched = last + 1
            }
            try fill()
        }
    }

    /// Consumes `count` bytes after `start`.
    private func skip(_ count: Int) throws {
        while buffer.count - start < count { try fill() }
        start += count
    }

    /// Appends what the socket has; never moves what is there, so indexes into `buffer` stay valid.
    private func fill() throws {
        let socket = self.socket
        let count = scratch.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
        guard count > 0 else { throw Failure() }
        buffer.append(contentsOf: scratch[0..<count])
    }
}
