/// An error from the store: bad configuration, a failed migration, or a connection the server closed. Query errors are PostgresNIO's own.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable { case configuration, migration, connectionClosed }
    private let base: Base
    public let message: String

    private init(_ base: Base, _ message: String) {
        self.base = base
        self.message = message
    }

    public static func configuration(_ message: String) -> StoreError { .init(.configuration, message) }
    public static func migration(_ message: String) -> StoreError { .init(.migration, message) }
    /// A statement refused before it was sent: the server had closed the connection. Transient: retry the work.
    public static func connectionClosed(_ message: String) -> StoreError { .init(.connectionClosed, message) }

    public var description: String { "StoreError(\(base)): \(message)" }
}
