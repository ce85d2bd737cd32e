public import Foundation

extension Process {
    /// Waits for the process to end and returns its exit status, sleeping between looks. `waitUntilExit()`, or
    /// reading a pipe to its end, holds one of the concurrency pool's threads (two on a two-core machine) for as
    /// long as the command runs, and every other test in the process waits for a thread meanwhile.
    public func exited() async -> Int32 {
        while isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        return terminationStatus
    }
}

/// Whether process `pid` has ended: gone, or a zombie its parent has not reaped yet (a launcher, or the new parent
/// of an orphan, may be slow to).
public func processHasEnded(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
        return true
    }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
    return state == "Z" || state == "X"
}

extension TestInfrastructure {
    /// A new file under the test artifacts for a command's output, and a handle writing to it: give it to the
    /// command instead of a pipe, wait with `exited()`, then read the file.
    public static func outputFile(_ name: String) throws -> (url: URL, handle: FileHandle) {
        let directory = artifacts.appendingPathComponent("logs", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return (url, try FileHandle(forWritingTo: url))
    }
}
