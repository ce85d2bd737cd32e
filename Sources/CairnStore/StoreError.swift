/// An error from the store: bad configuration or a failed migration. Query errors are PostgresNIO's own.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable { case configuration, migration }
    private let base: Base
    public let message: String

    private init(_ base: Base, _ message: String) {
        self.base = base
        self.message = message
    }

    public static func configuration(_ message: String) -> StoreError { .init(.configuration, message) }
    public static func migration(_ message: String) -> StoreError { .init(.migration, message) }

    public var description: String { "StoreError(\(base)): \(message)" }
}
