import Foundation
import Store

/// A PostgreSQL database of a test's own on the server `.ci/run` starts: made empty, dropped
/// when the test ends (`use`), so tests run in parallel without seeing each other's rows.
///
/// The server is `GWLB_TEST_POSTGRES` (a `postgres://` URL of a role that may create databases),
/// by default `postgres://gwlb:gwlb@127.0.0.1:5432/postgres`. Without one the test fails, saying so.
public enum TestDatabase {
    public static var server: PostgresAddress {
        let url = ProcessInfo.processInfo.environment["GWLB_TEST_POSTGRES"] ?? "postgres://gwlb:gwlb@127.0.0.1:5432/postgres"
        guard let address = PostgresAddress(url: url) else { fatalError("GWLB_TEST_POSTGRES is not a postgres:// URL: \(url)") }
        return address
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `body` with the address of a new, empty database, and drops it afterwards.
    public static func use<Result>(_ body: (PostgresAddress) async throws -> Result) async throws -> Result {
        let admin = PostgresSession(address: server)
        let name = "gwlb_test_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        do {
            try admin.query("CREATE DATABASE \(name)")
        } catch {
            throw Unavailable(description: """
                these tests need PostgreSQL at \(server) (a role that may create databases): \(error). \
                .ci/run installs and starts it (apt-get install postgresql; pg_ctlcluster 15 main start; \
                CREATE ROLE gwlb LOGIN CREATEDB PASSWORD 'gwlb'), or set GWLB_TEST_POSTGRES to another server
                """)
        }
        defer {
            // The test's own connections close as their owners go, some a moment later (a listener
            // closes asynchronously): wait for them, so that the drop resets none of this process's
            // (SwiftNIO's debug build asserts when a reset races a read). Then force out any left.
            for _ in 0..<100 {
                guard case .integer(let open)? = try? admin.query("SELECT count(*) FROM pg_stat_activity WHERE datname = '\(name)'").first?.first,
                      open > 0 else { break }
                usleep(50_000)
            }
            _ = try? admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
        return try await body(server.database(name))
    }
}
