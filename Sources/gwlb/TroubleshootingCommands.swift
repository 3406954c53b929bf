import AWSCommandLine
import ArgumentParser
import ControlClient
import Daemon
import Foundation
import Store

/// The socket a command talks to: --socket, else $GWLB_SOCKET, else the default.
func resolvedSocket(_ socket: String?) -> String {
    socket ?? ProcessInfo.processInfo.environment["GWLB_SOCKET"] ?? ELBCommandLine.defaultSocketPath
}

/// A failure at run time (gwlbd not there, a bad filter): its text on standard error, exit 1.
func failure(_ error: Error) -> ExitCode {
    StandardError.print("gwlb: \(error)")
    return ExitCode(1)
}

enum TextOrJSON: String, ExpressibleByArgument {
    case table, json
}

struct FlowsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows",
        abstract: "Which target each flow is pinned to, with its age, idle time, packets, bytes and GENEVE cookie.")

    @Option(help: "Only flows with an end at this IPv4 or IPv6 address.") var address: String?
    @Option(help: "Only flows with an end on this port.") var port: UInt16?
    @Option(help: "Only flows pinned to this target address.") var target: String?
    @Option(help: "At most this many flows per worker.") var limit = 1000
    @Option(help: "table or json.") var output = TextOrJSON.table
    @Option(help: "gwlbd's Unix socket (else $GWLB_SOCKET, else /run/gwlb/gwlb.sock).") var socket: String?

    func run() throws {
        var filters: [(String, String)] = [("limit", String(limit))]
        if let address { filters.append(("address", address)) }
        if let port { filters.append(("port", String(port))) }
        if let target { filters.append(("target", target)) }
        do {
            print(try Troubleshooting.flows(socketPath: resolvedSocket(socket), filters: filters, json: output == .json), terminator: "")
        } catch {
            throw failure(error)
        }
    }
}

struct DropsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drops",
        abstract: "Packets gwlbd dropped: counts by reason, and the most recent ones with their addresses.")

    @Option(help: "table or json.") var output = TextOrJSON.table
    @Option(help: "gwlbd's Unix socket (else $GWLB_SOCKET, else /run/gwlb/gwlb.sock).") var socket: String?

    func run() throws {
        do {
            print(try Troubleshooting.drops(socketPath: resolvedSocket(socket), json: output == .json), terminator: "")
        } catch {
            throw failure(error)
        }
    }
}

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture dropped packets, or a flow's packets, to a pcapng file (each packet's comment says why).",
        discussion: "Read it with tshark -r FILE or Wireshark. gwlbd copies only what matches; forwarding never waits for a capture.")

    @Flag(help: "Capture every dropped packet.") var drops = false
    @Option(help: "Capture the flows with an end at this address.") var address: String?
    @Option(help: "Capture the flows with an end on this port.") var port: UInt16?
    @Option(name: .customShort("w"), help: "The pcapng file to write.") var file: String
    @Option(help: "Stop after this many packets.") var count = 100
    @Option(help: "Stop after this many seconds.") var duration = 60.0
    @Option(help: "gwlbd's Unix socket (else $GWLB_SOCKET, else /run/gwlb/gwlb.sock).") var socket: String?

    func validate() throws {
        guard drops != (address != nil || port != nil) else {
            throw ValidationError("give --drops, or a flow with --address and/or --port")
        }
        guard count > 0, duration > 0 else { throw ValidationError("--count and --duration must be above 0") }
    }

    func run() throws {
        var query: [(String, String)] = [("count", String(count)), ("duration", String(duration))]
        if drops { query.append(("drops", "1")) }
        if let address { query.append(("address", address)) }
        if let port { query.append(("port", String(port))) }
        do {
            let (socket, file, query) = (resolvedSocket(socket), file, query)
            // The capture reads a stream; this command's thread waits for it.
            let summary = try Daemon.runBlocking {
                try await PacketCapture.run(socketPath: socket, query: query, path: file) { comment in StandardError.print(comment) }
            }
            print("\(summary.captured) packet\(summary.captured == 1 ? "" : "s") captured to \(file)"
                  + (summary.lost > 0 ? " (\(summary.lost) lost: gwlbd's capture buffer was full)" : ""))
        } catch {
            throw failure(error)
        }
    }
}

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "The cluster this gwlbd is a node of (gwlbd --database).",
        subcommands: [Status.self, Migrate.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every node: alive or dead (heartbeat), version, GENEVE address, uptime, live flows and packets per second.")

        @Option(help: "table or json.") var output = TextOrJSON.table
        @Option(help: "gwlbd's Unix socket (else $GWLB_SOCKET, else /run/gwlb/gwlb.sock).") var socket: String?

        func run() throws {
            do {
                print(try Troubleshooting.cluster(socketPath: resolvedSocket(socket), json: output == .json), terminator: "")
            } catch {
                throw failure(error)
            }
        }
    }

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a single gwlbd's configuration (SQLite in its state directory) into PostgreSQL, for a cluster.",
            discussion: """
                Stop gwlbd first (a change it makes after the copy stays in SQLite only), then start each node with                 --database URL. Every resource keeps its ARN and id; SQLite is only read.
                """)

        @Option(name: .customLong("state-dir"), help: "The state directory the single gwlbd ran with (its gwlb.sqlite).") var stateDirectory: String
        @Option(help: "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (the password may come from PGPASSWORD).") var database: String
        @Flag(help: "Overwrite a configuration the database already holds (stop the cluster's nodes first).") var replace = false

        func run() throws {
            guard let address = PostgresAddress(url: database) else {
                throw ValidationError("--database \(database): give postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
            }
            do {
                let copied = try CatalogMigration.copy(fromDirectory: stateDirectory, to: address, replace: replace)
                print(copied.summary)
                print("start each node with: gwlbd --state-dir DIR --database \(address) --node-name NAME …")
            } catch {
                throw failure(error)
            }
        }
    }
}
