public import Logging
public import PostgresNIO

/// A worker's seat among the running workers, and the partitions it holds, kept as session advisory locks in a
/// PostgreSQL session of its own. A worker that dies loses its session and with it every lock, so the others see at
/// once that it is gone.
///
/// The locks are how workers share the event partitions without ever consuming one at the same time: a worker
/// consumes a partition only while it holds that partition's lock, and releases the lock only after its last
/// delivery from that partition is acknowledged.
public struct WorkerSeat: Sendable {
    /// This worker's seat: the lowest free number when it sat down (or the one it had before, when free).
    public let slot: Int
    let connection: PostgresConnection
    let logger: Logger

    /// Advisory lock namespaces (the first key of a two-key lock): the seats, and the partitions.
    static let seats: Int32 = 0x6377_6B73  // "cwks"
    static let partitions: Int32 = 0x6377_6B70  // "cwkp"

    /// Seats of every worker running now, this one included, ascending.
    public func members() async throws -> [Int] {
        let rows = try await connection.checkedQuery(
            """
            SELECT objid::int8 FROM pg_locks
            WHERE locktype = 'advisory' AND classid::int8 = \(Int(Self.seats)) AND objsubid = 2 AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY 1
            """, logger: logger)
        var members: [Int] = []
        for try await member in rows.decode(Int.self) { members.append(member) }
        return members
    }

    /// Takes a partition's lock if no other worker holds it.
    public func tryLock(partition: Int) async throws -> Bool {
        try await Self.tryLock(Self.partitions, partition, on: connection, logger: logger)
    }

    /// Lets a partition go: call only after every delivery from it was acknowledged.
    public func unlock(partition: Int) async throws {
        try await connection.checkedQuery(
            "SELECT pg_advisory_unlock(\(Int(Self.partitions))::int4, \(partition)::int4)", logger: logger)
    }

    /// The partitions (of `count`) that the worker in `slot` should hold when `members` run: every `members.count`-th
    /// one, starting at the seat's rank. Workers beyond `count` hold none and stand by.
    public static func partitions(for slot: Int, among members: [Int], count: Int) -> Set<Int> {
        guard let rank = members.sorted().firstIndex(of: slot) else { return [] }
        return Set(stride(from: rank, to: count, by: members.count))
    }

    static func tryLock(_ namespace: Int32, _ key: Int, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.checkedQuery(
            "SELECT pg_try_advisory_lock(\(Int(namespace))::int4, \(key)::int4)", logger: logger)
        for try await taken in rows.decode(Bool.self) { return taken }
        return false
    }
}

extension Store {
    /// Takes a seat among the workers on a connection of the pool kept for as long as `body` runs, and gives the seat
    /// and every partition lock back when it returns or throws. `body` throws (and the locks are gone with the
    /// session) when the database goes away.
    /// - Parameter preferredSlot: the seat to take again if it is free (the one held before a lost session), so that a
    ///   database restart does not move every partition.
    public func withWorkerSeat<Result>(
        preferredSlot: Int?, _ body: (WorkerSeat) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            var slot = -1
            for candidate in [preferredSlot].compactMap(\.self) + Array(0..<4096) {
                if try await WorkerSeat.tryLock(WorkerSeat.seats, candidate, on: connection, logger: logger) {
                    slot = candidate
                    break
                }
            }
            guard slot >= 0 else { throw StoreError.configuration("more than 4096 workers on one database: no free worker seat") }
            do {
                let result = try await body(WorkerSeat(slot: slot, connection: connection, logger: logger))
                try await connection.checkedQuery("SELECT pg_advisory_unlock_all()", logger: logger)
                return result
            } catch {
                // The connection goes back to the pool: it must not keep this worker's locks.
                _ = try? await connection.checkedQuery("SELECT pg_advisory_unlock_all()", logger: logger)
                throw error
            }
        }
    }
}
