import Catalog
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// The catalog in PostgreSQL, shared by the nodes of a cluster: the same tables as the SQLite store
/// (`CatalogRows`), and a version row every change advances. A change is stored in a serializable
/// transaction only if no other node stored one since this node last read the catalog, and it
/// notifies the channel `gwlb_catalog` (LISTEN/NOTIFY), so every node reloads within milliseconds.
public final class PostgresCatalogStore: CatalogStorage {
    public let session: PostgresSession
    /// The version this process last loaded or saved.
    private let known = Mutex<Int64>(-1)
    /// Who changed it, written beside each version.
    private let node: String
    public static let channel = "gwlb_catalog"

    public var location: String { session.address.description }
    public var isShared: Bool { true }
    public var nodeName: String? { node }

    public func sharedSecret(_ name: String, make: () -> String) throws -> String? {
        try ClusterTables.secret(name, in: session, make: make)
    }

    /// Connects to `address` and creates the tables where they do not exist yet.
    public init(address: PostgresAddress, node: String) throws {
        session = PostgresSession(address: address)
        self.node = node
        try Self.createSchema(session)
    }

    static func createSchema(_ session: PostgresSession) throws {
        try session.transaction { transaction in
            // Nodes starting together would race on CREATE TABLE IF NOT EXISTS; one at a time.
            try transaction.query("SELECT pg_advisory_xact_lock(1735879778)")
            try transaction.query("""
                CREATE TABLE IF NOT EXISTS gwlb_catalog (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL,
                    changed_by text, changed_at double precision)
                """)
            try transaction.query("INSERT INTO gwlb_catalog (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING")
            for table in CatalogRows.tables {
                let columns = table.columns.map { column in
                    let type = switch column.kind { case .text: "text"; case .integer: "bigint"; case .real: "double precision" }
                    return "\"\(column.name)\" \(type)\(column.optional ? "" : " NOT NULL")"
                }
                try transaction.query("CREATE TABLE IF NOT EXISTS \"\(table.name)\" (\(columns.joined(separator: ", ")))")
            }
            try ClusterTables.create(transaction)
        }
    }

    public func load() throws -> ResourceCatalog? {
        let (version, catalog) = try session.transaction { transaction -> (Int64, ResourceCatalog?) in
            let version = try Self.version(transaction, lock: false)
            var rows: [String: [[StoredValue]]] = [:]
            for table in CatalogRows.tables {
                let columns = table.columns.map { "\"\($0.name)\"" }.joined(separator: ", ")
                rows[table.name] = try transaction.query("SELECT \(columns) FROM \"\(table.name)\"\(table.ordered ? " ORDER BY position" : "")")
            }
            return (version, try CatalogRows(rows: rows).catalog())
        }
        known.withLock { $0 = version }
        return catalog
    }

    public func save(_ catalog: ResourceCatalog) throws {
        let rows = try CatalogRows(catalog)
        let expected = known.withLock { $0 }
        // A serialization failure here is another node's commit of the version row: the same news
        // as a version that moved, and the change is made again on the newer catalog (not retried as it is).
        let version: Int64
        do {
            version = try save(rows, expected: expected)
        } catch where PostgresSession.isSerializationFailure(error) {
            throw CatalogChangedElsewhere()
        }
        known.withLock { $0 = version }
    }

    private func save(_ rows: CatalogRows, expected: Int64) throws -> Int64 {
        try session.transaction(attempts: 1) { transaction -> Int64 in
            let current = try Self.version(transaction, lock: true)
            guard current == expected else { throw CatalogChangedElsewhere() }
            for table in CatalogRows.tables.reversed() { try transaction.query("DELETE FROM \"\(table.name)\"") }
            for table in CatalogRows.tables {
                try Self.insert(rows.rows[table.name] ?? [], into: table, transaction)
            }
            try transaction.query("UPDATE gwlb_catalog SET version = $1, changed_by = $2, changed_at = extract(epoch FROM clock_timestamp()) WHERE id = 1",
                                  [.integer(current + 1), .text(node)])
            // Delivered to every listening node when the transaction commits, not before.
            try transaction.query("SELECT pg_notify('\(Self.channel)', $1)", [.text(String(current + 1))])
            return current + 1
        }
    }

    public func changedElsewhere() throws -> ResourceCatalog? {
        let stored = try session.query("SELECT version FROM gwlb_catalog WHERE id = 1").first?.first
        guard case .integer(let version) = stored, version != known.withLock({ $0 }) else { return nil }
        return try load()
    }

    /// The version number of the stored catalog (0: never saved).
    public var version: Int64 { known.withLock { $0 } }

    private static func version(_ transaction: PostgresSession.Transaction, lock: Bool) throws -> Int64 {
        let rows = try transaction.query("SELECT version FROM gwlb_catalog WHERE id = 1\(lock ? " FOR UPDATE" : "")")
        guard case .integer(let version) = rows.first?.first else { throw StoreError(description: "PostgreSQL's gwlb_catalog has no version row") }
        return version
    }

    /// Many rows per statement: a change's round trips do not grow with the number of targets.
    private static func insert(_ rows: [[StoredValue]], into table: CatalogRows.Table, _ transaction: PostgresSession.Transaction) throws {
        let columns = table.columns.map { "\"\($0.name)\"" }.joined(separator: ", ")
        let width = table.columns.count
        // PostgreSQL takes at most 65,535 parameters in one statement.
        for chunk in stride(from: 0, to: rows.count, by: 60_000 / width) {
            let part = rows[chunk..<min(chunk + 60_000 / width, rows.count)]
            let values = part.indices.map { row in
                "(" + (0..<width).map { "$\((row - chunk) * width + $0 + 1)" }.joined(separator: ", ") + ")"
            }.joined(separator: ", ")
            try transaction.query("INSERT INTO \"\(table.name)\" (\(columns)) VALUES \(values)", part.flatMap { $0 })
        }
    }

    /// Calls `onChange` each time a node commits a change (and once when it starts listening, for
    /// what it missed), until the task is cancelled; a lost connection is opened again.
    public func watch(onChange: @escaping @Sendable () async -> Void) async {
        let logger = Logger(label: "gwlb.postgres")
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(),
                                                                      configuration: session.address.configuration, id: 2, logger: logger)
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: Self.channel) { notifications in
                    await onChange()
                    for try await _ in notifications { await onChange() }
                }
            } catch where !Task.isCancelled {
                logger.warning("listening for configuration changes on \(session.address): \(PostgresSession.explain(error)); again in 1 s")
            } catch {
                return  // gwlbd stops: nothing to say
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
