public import CairnCore
public import Foundation

/// Where simulated events go: a file, a broker, an HTTP endpoint.
///
/// `write` is called with one batch at a time, in stream order, and returns when the sink has taken the batch
/// (a file: handed to the operating system; a broker: confirmed), so a caller can pace itself on it.
public protocol EventSink: Sendable {
    func write(_ events: [AccountEvent]) async throws
    /// Flushes what is buffered and releases the sink; called once, after the last `write`. (Deliberately without a
    /// default implementation: a do-nothing default would be picked over an actor's own `finish()` when called on
    /// the concrete type, and the actor would never flush.)
    func finish() async throws
}

/// Writes events as NDJSON: one `AccountEvent.encoded()` per line, in the order given.
public actor NDJSONWriter: EventSink {
    private let handle: FileHandle
    private let closesHandle: Bool
    private var buffer: [UInt8] = []
    /// Bytes collected before they are written out.
    private let bufferLimit = 1 << 20

    /// Creates (or truncates) the file at `path`; `-` means standard output.
    public init(path: String) throws(SimulatorError) {
        guard path != "-" else {
            self.init(handle: .standardOutput, closesHandle: false)
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw SimulatorError(.output, "cannot create \(path)")
        }
        let handle: FileHandle
        do {
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        } catch {
            throw SimulatorError(.output, "cannot open \(path) for writing (\(error))", underlying: error)
        }
        self.init(handle: handle, closesHandle: true)
    }

    /// Writes to an open handle, which `finish()` closes only if `closesHandle` is set.
    public init(handle: FileHandle, closesHandle: Bool) {
        self.handle = handle
        self.closesHandle = closesHandle
    }

    public func write(_ events: [AccountEvent]) throws {
        Self.appendLines(events, to: &buffer)
        if buffer.count >= bufferLimit { try flush() }
    }

    public func finish() throws {
        try flush()
        if closesHandle { try handle.close() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// The NDJSON bytes of `events`: each event's canonical JSON followed by a newline.
    public static func lines(_ events: [AccountEvent]) -> [UInt8] {
        var bytes: [UInt8] = []
        appendLines(events, to: &bytes)
        return bytes
    }

    static func appendLines(_ events: [AccountEvent], to bytes: inout [UInt8]) {
        for event in events {
            bytes.append(contentsOf: event.encoded())
            bytes.append(UInt8(ascii: "\n"))
        }
    }
}
