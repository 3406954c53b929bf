import ControlContract
import Foundation

/// `gwlb flows` and `gwlb drops`: gwlbd's /v1/flows and /v1/drops as tables an operator reads, or
/// their JSON (`--output json`).
public enum Troubleshooting {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// GET `path` on the socket: the answer's body; gwlbd's error text when it refuses.
    static func get(_ socketPath: String, _ path: String) throws -> Data {
        let response = try UnixHTTPClient(socketPath: socketPath).request("GET", path)
        guard response.status == 200 else {
            let answer = try? ContractCoding.decode(ErrorAnswer.self, from: response.body)
            throw Failure(description: answer?.error ?? "gwlbd answered \(response.status) to \(path)")
        }
        return response.body
    }

    /// GET `path`, decoded as the contract's `Answer`.
    static func get<Answer: Decodable>(_ socketPath: String, _ path: String, as type: Answer.Type) throws -> (Answer, body: Data) {
        let body = try get(socketPath, path)
        do { return (try ContractCoding.decode(type, from: body), body) } catch {
            throw Failure(description: "gwlbd's answer to \(path) is not what this gwlb expects (another version?): \(error)")
        }
    }

    /// An answer's body as an operator reads it: indented, keys sorted.
    static func json(_ body: Data) -> String {
        let object = (try? JSONSerialization.jsonObject(with: body)) ?? [:]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Which target each flow is pinned to; `filters` are address, port, target, limit.
    public static func flows(socketPath: String, filters: [(String, String)], json asJSON: Bool) throws -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~:"))
        let query = filters.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
        let (answer, body) = try get(socketPath, "/v1/flows" + (query.isEmpty ? "" : "?" + query), as: FlowsAnswer.self)
        if asJSON { return json(body) }
        var rows = [["PROTO", "ADDRESS A", "PORT", "ADDRESS B", "PORT", "TARGET", "STATE", "AGE", "IDLE", "PACKETS", "BYTES", "COOKIE", "REPLIED"]]
        for flow in answer.flows {
            rows.append([
                flow.protocol, flow.addressA, String(flow.portA), flow.addressB, String(flow.portB), flow.target ?? "-", flow.state,
                seconds(flow.ageSeconds), seconds(flow.idleSeconds), String(flow.packets), String(flow.bytes), flow.cookie,
                flow.confirmed ? "yes" : "not yet",
            ])
        }
        var text = table(rows)
        let count = answer.flows.count
        text += "\(count) flow\(count == 1 ? "" : "s")\(answer.truncated ? " (more not shown: --limit N)" : "")\n"
        return text
    }

    /// Drop counts by reason (those above zero) and the most recent drops, newest first.
    public static func drops(socketPath: String, json asJSON: Bool) throws -> String {
        let (answer, body) = try get(socketPath, "/v1/drops", as: DropsAnswer.self)
        if asJSON { return json(body) }
        let counts = answer.counts.filter { $0.value > 0 }.sorted { $0.value > $1.value }
        var text = counts.isEmpty ? "no drops\n" : table([["REASON", "PACKETS"]] + counts.map { [$0.key, String($0.value)] })
        if !answer.recent.isEmpty {
            var rows = [["TIME", "REASON", "DETAIL", "PROTO", "SOURCE", "DESTINATION", "SIZE", "FROM"]]
            for drop in answer.recent {
                let from = drop.appliance.map { "appliance \($0)" } ?? drop.endpoint.map { "endpoint \($0)" } ?? "-"
                rows.append([drop.time, drop.reason, drop.detail ?? "-", drop.protocol, endpoint(drop.source, drop.sourcePort),
                             endpoint(drop.destination, drop.destinationPort), String(drop.size), from])
            }
            text += "\nrecent drops, newest first:\n" + table(rows)
        }
        return text
    }

    /// `gwlb cluster status`: the cluster's nodes, alive or not, with what each carries.
    public static func cluster(socketPath: String, json asJSON: Bool) throws -> String {
        let (answer, body) = try get(socketPath, "/v1/cluster", as: ClusterAnswer.self)
        if asJSON { return json(body) }
        var rows = [["NODE", "STATE", "VERSION", "GENEVE", "HEARTBEAT", "UP", "FLOWS", "PACKETS/S"]]
        for node in answer.nodes {
            rows.append([node.name + (node.name == answer.node ? " *" : ""), node.alive ? "alive" : "dead", node.version, node.geneveAddress,
                         String(format: "%.1fs ago", node.heartbeatAge), seconds(Int(node.uptime)), String(node.activeFlows),
                         String(format: "%.0f", node.packetsPerSecond)])
        }
        let alive = answer.nodes.filter(\.alive).count
        return "cluster of \(answer.nodes.count) nodes (\(alive) alive), configuration in \(answer.database); * answered\n" + table(rows)
    }

    static func endpoint(_ address: String, _ port: Int) -> String {
        guard port != 0 else { return address }
        return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    static func seconds(_ seconds: Int) -> String {
        return seconds >= 3600 ? "\(seconds / 3600)h\(seconds % 3600 / 60)m" : seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }

    /// Columns padded to their widest cell, two spaces apart.
    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
