import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on standard error, redrawn in place; silent when disabled (standard error is not a
/// terminal, so logs and pipes stay clean).
public struct ProgressBar: Sendable {
    public let total: Int
    public let enabled: Bool
    /// Characters between the brackets.
    public var width = 30

    public init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    /// A bar that draws only if standard error is a terminal.
    public static func onStandardError(total: Int) -> ProgressBar {
        ProgressBar(total: total, enabled: isatty(STDERR_FILENO) == 1)
    }

    /// The bar's text for `done` of `total` steps, e.g. `[#######-------]  50%  day 90/180  12000 events`.
    public func line(done: Int, detail: String) -> String {
        let clamped = min(max(done, 0), total)
        let filled = total > 0 ? width * clamped / total : width
        let percent = total > 0 ? 100 * clamped / total : 100
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let percentText = String(repeating: " ", count: 3 - String(percent).count) + "\(percent)%"
        return "[\(bar)] \(percentText)  day \(clamped)/\(total)  \(detail)"
    }

    /// Redraws the bar.
    public func update(done: Int, detail: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r" + line(done: done, detail: detail)).utf8))
    }

    /// Ends the bar's line.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
