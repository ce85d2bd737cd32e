public import Foundation
import Glibc

/// A `cairn` role running as a child process, stopped by its pid: gracefully (SIGTERM) or not (SIGKILL).
public final class CairnProcess: @unchecked Sendable {
    public let process = Process()
    public let logFile: URL

    /// Starts `cairn <arguments>` with `environment`; its output goes to a log file under the test artifacts.
    public init(_ arguments: [String], environment: [String: String], logName: String) throws {
        let directory = TestInfrastructure.artifacts.appendingPathComponent("logs", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logFile = directory.appendingPathComponent("\(logName).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        try handle.seekToEnd()
        process.executableURL = URL(fileURLWithPath: TestInfrastructure.binary)
        process.arguments = arguments
        var environment = environment
        // A role outlives a test run killed before it could stop its children; this makes it stop by itself.
        environment["CAIRN_PARENT_PID"] = environment["CAIRN_PARENT_PID"] ?? "\(getpid())"
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// SIGKILL: the process gets no chance to finish anything.
    public func kill() {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits up to `timeout` for a clean exit (SIGKILL after that). Returns the exit status.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(15)) async -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        Glibc.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill() }
        return process.terminationStatus
    }

    /// Waits up to `timeout` for a command that ends by itself; its exit status, or nil while it still runs.
    public func exitStatus(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// The process's output so far (for failure messages).
    public var log: String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning { Glibc.kill(pid, SIGKILL) }
    }
}

/// A TCP port nothing listens on right now, for a role's HTTP listener.
public func freePort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw TestError("socket() failed") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw TestError("bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Polls `condition` until it holds or `timeout` passes. Returns whether it held.
public func eventually(
    timeout: Duration = .seconds(20), every interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
