import ArgumentParser
import ControlClient
import Foundation

/// The socket a command talks to: --socket, else $GWLB_SOCKET, else the default.
func resolvedSocket(_ socket: String?) -> String {
    socket ?? ProcessInfo.processInfo.environment["GWLB_SOCKET"] ?? ELBCommandLine.defaultSocketPath
}

/// A failure at run time (gwlbd not there, a bad filter): its text on standard error, exit 1.
func failure(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("gwlb: \(error)\n".utf8))
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
