import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Where a cluster's PostgreSQL is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (the form
/// libpq and psql take; the password may instead come from `PGPASSWORD`). A HOST that is a
/// directory, percent-encoded as libpq has it (`%2Fvar%2Frun%2Fpostgresql`), is where the server's
/// Unix socket is: that reaches it from any network namespace of the machine.
public struct PostgresAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int = 5432, user: String, password: String?, database: String) {
        (self.host, self.port, self.user, self.password, self.database) = (host, port, user, password, database)
    }

    /// Parses a `postgres://` or `postgresql://` URL; nil when it is not one.
    public init?(url text: String) {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
              let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty else { return nil }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { return nil }
        self.init(host: host, port: url.port ?? 5432, user: user,
                  password: url.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"], database: database)
    }

    /// The URL without its password (for logs and status).
    public var description: String {
        "postgres://\(user)@\(host.hasPrefix("/") ? host.replacingOccurrences(of: "/", with: "%2F") : host):\(port)/\(database)"
    }

    /// The server's Unix socket, when `host` is its directory.
    public var unixSocketPath: String? { host.hasPrefix("/") ? "\(host)/.s.PGSQL.\(port)" : nil }

    /// The same server, another database.
    public func database(_ name: String) -> PostgresAddress {
        PostgresAddress(host: host, port: port, user: user, password: password, database: name)
    }
}

/// One PostgreSQL connection used by blocking callers (the control plane's own thread, the
/// cluster's heartbeat): each call waits for its answer. Connects on first use and again after
/// the connection was lost, so a restarted server costs the calls made while it was down, not
/// the process. Calls are serialized (a transaction is never interleaved with another call).
public final class PostgresSession: Sendable {
    public let address: PostgresAddress
    private let connection = Mutex<PostgresConnection?>(nil)
    private let logger = Logger(label: "gwlb.postgres")
    static let connectTimeout = TimeAmount.seconds(3)

    public init(address: PostgresAddress) { self.address = address }

    // postgres-nio insists on a connection closed before it goes.
    deinit { close() }

    /// Closes the connection (the next call opens another).
    public func close() {
        connection.withLock { connection in
            if let open = connection { try? open.close().wait() }
            connection = nil
        }
    }

    /// Opens a connection of its own (for LISTEN, which holds one).
    func connect() throws -> PostgresConnection {
        let configuration = address.configuration
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                  id: 1, logger: logger).wait()
        } catch {
            throw StoreError(description: "cannot connect to PostgreSQL at \(address): \(Self.explain(error))")
        }
    }

    /// Runs one statement and returns its rows; `$1`, `$2`… in `sql` are `binds`.
    @discardableResult
    public func query(_ sql: String, _ binds: [StoredValue] = []) throws -> [[StoredValue]] {
        try connection.withLock { connection in try Self.run(sql, binds, on: &connection, session: self) }
    }

    /// Runs `body` in one serializable transaction (committed when it returns, rolled back when it
    /// throws). PostgreSQL's serialization failures are tried again, `attempts` times in all, as its
    /// manual advises.
    public func transaction<Result>(attempts: Int = 5, _ body: (Transaction) throws -> Result) throws -> Result {
        try connection.withLock { connection in
            var attempt = 0
            while true {
                attempt += 1
                try Self.run("BEGIN ISOLATION LEVEL SERIALIZABLE", [], on: &connection, session: self)
                let transaction = Transaction(connection: connection!, logger: logger)
                do {
                    let result = try body(transaction)
                    try Self.run("COMMIT", [], on: &connection, session: self)
                    return result
                } catch {
                    _ = try? Self.run("ROLLBACK", [], on: &connection, session: self)
                    guard Self.isSerializationFailure(error), attempt < attempts else { throw error }
                }
            }
        }
    }

    /// The statements of one transaction.
    public struct Transaction {
        let connection: PostgresConnection
        let logger: Logger
        @discardableResult
        public func query(_ sql: String, _ binds: [StoredValue] = []) throws -> [[StoredValue]] {
            try PostgresSession.execute(sql, binds, on: connection, logger: logger)
        }
    }

    @discardableResult
    private static func run(_ sql: String, _ binds: [StoredValue], on connection: inout PostgresConnection?, session: PostgresSession) throws -> [[StoredValue]] {
        if connection == nil || connection?.isClosed == true { connection = try session.connect() }
        do {
            return try execute(sql, binds, on: connection!, logger: session.logger)
        } catch {
            if connection?.isClosed == true { connection = nil }
            throw error
        }
    }

    static func execute(_ sql: String, _ binds: [StoredValue], on connection: PostgresConnection, logger: Logger) throws -> [[StoredValue]] {
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds {
            switch value {
            case .text(let text): bindings.append(text)
            case .integer(let number): bindings.append(number)
            case .real(let number): bindings.append(number)
            case .null: bindings.appendNull()
            }
        }
        do {
            let result = try connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).wait()
            return try result.rows.map { row in try row.map(Self.storedValue) }
        } catch {
            throw PostgresFailure(statement: sql, error: error)
        }
    }

    static func storedValue(_ cell: PostgresCell) throws -> StoredValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8, .numeric: return .real(try cell.decode(Double.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        default: return .text(try cell.decode(String.self))
        }
    }

    static func isSerializationFailure(_ error: Error) -> Bool {
        guard let failure = error as? PostgresFailure, let error = failure.error as? PSQLError else { return false }
        // 40001 serialization_failure, 40P01 deadlock_detected.
        return ["40001", "40P01"].contains(error.serverInfo?[.sqlState] ?? "")
    }

    /// PostgreSQL's own message where it sent one.
    static func explain(_ error: Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "") }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

extension PostgresAddress {
    /// postgres-nio's configuration: TCP without TLS (a cluster's database is on its own network),
    /// or the Unix socket.
    var configuration: PostgresConnection.Configuration {
        var configuration = unixSocketPath.map {
            PostgresConnection.Configuration(unixSocketPath: $0, username: user, password: password, database: database)
        } ?? PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: .disable)
        configuration.options.connectTimeout = PostgresSession.connectTimeout
        return configuration
    }
}

/// A statement PostgreSQL refused or could not answer.
public struct PostgresFailure: Error, CustomStringConvertible {
    public let statement: String
    public let error: Error
    public var description: String {
        "PostgreSQL: \(PostgresSession.explain(error)) (in \(statement.prefix(60))\(statement.count > 60 ? "…" : ""))"
    }
}
