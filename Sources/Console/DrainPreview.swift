import ControlClient
import ControlContract

/// The drain dialog's preview, from `DeregisterTargets` with gwlb's DryRun (README "Troubleshooting
/// verbs"): the flows on the target now, when the drain ends, and what happens to them then.
public struct DrainPreview: Equatable, Sendable {
    public var target: String
    public var lines: [String]

    /// Nil when the answer holds no preview (an older gwlbd).
    public init?(target: String, answer: JSONValue) {
        guard case .array(let targets)? = answer["Preview"]?["Targets"], let row = targets.first,
              case .number(let flows)? = row["ActiveFlows"], case .number(let tcp)? = row["ActiveTCPFlows"] else { return nil }
        let atLeast = row["Complete"] == .bool(false) ? "at least " : ""
        // "2026-12-03T15:21:03.000000+00:00" → "15:21:03".
        let until = row["DrainingUntil"].map { $0.scalarText.split(separator: "T").last.map { String($0.prefix(8)) } ?? "" } ?? "?"
        let then: String
        switch row["AtDrainEnd"] {
        case .string("move")?:
            var moves: [String] = []
            if case .array(let rows)? = row["FlowsByMaglevTarget"] {
                for move in rows { if case .number(let count)? = move["Flows"] { moves.append("\(ConsoleScreen.grouped(count)) to \(move["Target"]?.scalarText ?? "?")") } }
            }
            then = moves.isEmpty ? "nothing to move (rebalance)" : "they move: " + moves.joined(separator: ", ") + " (rebalance)"
        case .string("reset")?: then = "its TCP flows are reset, the others stay until they end (send_tcp_reset)"
        default: then = "its flows stay on it until they end (no_rebalance)"
        }
        self.target = target
        lines = ["\(atLeast)\(ConsoleScreen.grouped(flows)) flows on it now (\(ConsoleScreen.grouped(tcp)) TCP).",
                 "The drain ends at \(until) UTC; then \(then)."]
    }
}
