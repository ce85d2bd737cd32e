import PostgresNIO

extension Store {
    /// Whether PostgreSQL refused a query because of a value the client chose (SQLSTATE class 22, data exception:
    /// a time out of range, a malformed number in a cursor): the API answers such errors with 400, not 500.
    public static func isInvalidInput(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22")
    }
}
