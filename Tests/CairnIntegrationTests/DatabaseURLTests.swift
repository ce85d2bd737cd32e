import CairnStore
import PostgresNIO
import Testing

/// `CAIRN_DATABASE_URL` is parsed without connecting.
@Suite("Database URL")
struct DatabaseURLTests {
    @Test("pool_max_conns sets the pool's size; without it the pool follows the cores; a bad value is refused by name")
    func poolSize() throws {
        let base = "postgres://cairn:se%2Fcret@db.example:6543/cairn"
        let plain = try DatabaseConfiguration(url: base)
        #expect(plain.maximumConnections == DatabaseConfiguration.defaultMaximumConnections)
        #expect((4...16).contains(plain.maximumConnections))
        #expect((plain.host, plain.port, plain.user, plain.password, plain.database) == ("db.example", 6543, "cairn", "se/cret", "cairn"))
        let sized = try DatabaseConfiguration(url: base + "?sslmode=disable&pool_max_conns=3")
        #expect(sized.maximumConnections == 3)
        #expect(sized.clientConfiguration.options.maximumConnections == 3)
        for bad in ["0", "-1", "many", "1001", ""] {
            let error = #expect(throws: StoreError.self, "pool_max_conns=\(bad)") {
                try DatabaseConfiguration(url: base + "?pool_max_conns=\(bad)")
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("pool_max_conns must be"), "\(String(describing: error))")
        }
        #expect(throws: StoreError.self) { try DatabaseConfiguration(url: base + "?sslmode=require") }
    }
}
