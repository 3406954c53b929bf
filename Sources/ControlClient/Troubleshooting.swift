import Foundation

/// `gwlb flows` and `gwlb drops`: gwlbd's /v1/flows and /v1/drops as tables an operator reads, or
/// their JSON (`--output json`).
public enum Troubleshooting {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// GET `path` on the socket, as a JSON object; gwlbd's error text when it refuses.
    static func get(_ socketPath: String, _ path: String) throws -> [String: Any] {
        let response = try UnixHTTPClient(socketPath: socketPath).request("GET", path)
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        guard response.status == 200, let object else {
            throw Failure(description: (object?["error"] as? String) ?? "gwlbd answered \(response.status) to \(path)")
        }
        return object
    }

    static func json(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Which target each flow is pinned to; `filters` are address, port, target, limit.
    public static func flows(socketPath: String, filters: [(String, String)], json asJSON: Bool) throws -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~:"))
        let query = filters.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
        let answer = try get(socketPath, "/v1/flows" + (query.isEmpty ? "" : "?" + query))
        if asJSON { return json(answer) }
        let flows = answer["flows"] as? [[String: Any]] ?? []
        var rows = [["PROTO", "ADDRESS A", "PORT", "ADDRESS B", "PORT", "TARGET", "STATE", "AGE", "IDLE", "PACKETS", "BYTES", "COOKIE", "REPLIED"]]
        for flow in flows {
            rows.append([
                "\(flow["protocol"] ?? "-")", "\(flow["addressA"] ?? "-")", "\(flow["portA"] ?? "-")", "\(flow["addressB"] ?? "-")",
                "\(flow["portB"] ?? "-")", "\(flow["target"] ?? "-")", "\(flow["state"] ?? "-")", seconds(flow["ageSeconds"]),
                seconds(flow["idleSeconds"]), "\(flow["packets"] ?? "-")", "\(flow["bytes"] ?? "-")", "\(flow["cookie"] ?? "-")",
                flow["confirmed"] as? Bool == true ? "yes" : "not yet",
            ])
        }
        var text = table(rows)
        text += "\(flows.count) flow\(flows.count == 1 ? "" : "s")\(answer["truncated"] as? Bool == true ? " (more not shown: --limit N)" : "")\n"
        return text
    }

    /// Drop counts by reason (those above zero) and the most recent drops, newest first.
    public static func drops(socketPath: String, json asJSON: Bool) throws -> String {
        let answer = try get(socketPath, "/v1/drops")
        if asJSON { return json(answer) }
        let counts = (answer["counts"] as? [String: Any] ?? [:]).compactMap { reason, count in
            (count as? Int).flatMap { $0 > 0 ? (reason, $0) : nil }
        }.sorted { $0.1 > $1.1 }
        var text = counts.isEmpty ? "no drops\n" : table([["REASON", "PACKETS"]] + counts.map { [$0.0, String($0.1)] })
        let recent = answer["recent"] as? [[String: Any]] ?? []
        if !recent.isEmpty {
            var rows = [["TIME", "REASON", "DETAIL", "PROTO", "SOURCE", "DESTINATION", "SIZE", "FROM"]]
            for drop in recent {
                let source = endpoint(drop["source"], drop["sourcePort"]), destination = endpoint(drop["destination"], drop["destinationPort"])
                let from = (drop["appliance"] as? String).map { "appliance \($0)" } ?? (drop["endpoint"] as? Int).map { "endpoint \($0)" } ?? "-"
                rows.append(["\(drop["time"] ?? "-")", "\(drop["reason"] ?? "-")", "\(drop["detail"] ?? "-")", "\(drop["protocol"] ?? "-")",
                             source, destination, "\(drop["size"] ?? "-")", from])
            }
            text += "\nrecent drops, newest first:\n" + table(rows)
        }
        return text
    }

    static func endpoint(_ address: Any?, _ port: Any?) -> String {
        let address = address as? String ?? "-"
        guard let port = port as? Int, port != 0 else { return address }
        return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    static func seconds(_ value: Any?) -> String {
        guard let seconds = value as? Int else { return "-" }
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
