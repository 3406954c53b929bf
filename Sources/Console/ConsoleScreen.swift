import Foundation

/// Where the targets pane was drawn: its column titles' row and each title's cells, and the rows
/// of the targets shown (the first holds the first target of the pane's order).
public struct TargetPaneLayout: Equatable, Sendable {
    public struct Column: Equatable, Sendable {
        public var columns: Range<Int>
        public var sort: ConsoleState.Sort?
    }

    public var titleRow: Int
    public var rows: Range<Int>
    public var columns: [Column]
}

/// Draws the console's panes (README "The console") from the model onto a surface: header, flow table,
/// targets, health transitions and recent drops, the action log, and a line of keys.
public struct ConsoleScreen {
    public let glyphs: Glyphs
    public static let minimumSize = (width: 60, height: 16)

    public init(glyphs: Glyphs) {
        self.glyphs = glyphs
    }

    /// Draws everything; returns where the targets pane went (for clicks), nil when not drawn.
    @discardableResult
    public func draw(_ model: ConsoleModel, _ state: ConsoleState, on surface: Surface, uptime: String = "") -> TargetPaneLayout? {
        surface.erase()
        guard surface.width >= Self.minimumSize.width, surface.height >= Self.minimumSize.height else {
            var message = Substring("terminal too small: \(surface.width)x\(surface.height), gwlb console needs \(Self.minimumSize.width)x\(Self.minimumSize.height)")
            var row = 0
            while !message.isEmpty && row < surface.height {
                surface.put(String(message.prefix(surface.width)), row: row, column: 0, style: "title")
                message = message.dropFirst(surface.width)
                row += 1
            }
            return nil
        }
        let dim = model.connection == .live ? nil : "stale"
        header(model, surface, uptime: uptime, window: state.rateWindow, shown: state.loadBalancer)
        var row = 1
        row = flowTable(model, surface, row: row, style: dim, window: state.rateWindow)
        if !model.nodes.isEmpty { row = nodes(model, surface, row: row, style: dim) }
        let bottomRows = surface.height >= 30 ? 12 : 7
        let lastTargetRow = surface.height - bottomRows - 1
        let layout: TargetPaneLayout
        (row, layout) = targets(model, state, surface, row: row, lastRow: lastTargetRow, style: dim)
        // A short target list leaves room: the history of each target's traffic and of the drops.
        if lastTargetRow - row >= 3, !state.visibleTargets(model).isEmpty {
            history(model, state, surface, row: row + 1, lastRow: lastTargetRow, style: dim)
        }
        lists(model, state, surface, row: surface.height - bottomRows, rows: bottomRows - 2, style: dim)
        footer(model, state, surface)
        if let dialog = state.dialog {
            if case .command(let text, let message) = dialog { commandLine(text, message: message, surface) }
            else { box(lines(for: dialog, model, state, height: surface.height - 4, width: surface.width - 6), surface) }
        }
        return layout
    }

    /// A dialog's lines; the last is its buttons or prompt.
    /// `width`: the columns a line may use inside the box.
    func lines(for dialog: ConsoleState.Dialog, _ model: ConsoleModel, _ state: ConsoleState, height: Int = 20,
               width: Int = 114) -> (title: String, lines: [String]) {
        switch dialog {
        case .flows(let subject, let selection, let sort):
            let rows = ConsoleState.sortedFlows(model.drillFlows, by: sort)
            // Narrow screens (80 columns) keep both ends whole (an IPv4 address and port) and give up the age.
            let narrow = width < 88
            let widths = narrow ? [6, 18, 18, 12, 0, 8, 9] : [6, 22, 22, 12, 7, 9, 9]
            let shownWidths = widths.filter { $0 > 0 }
            func cells(_ all: [String]) -> [String] { zip(all, widths).filter { $0.1 > 0 }.map(\.0) }
            var lines = [" " + Self.row(cells(["PROTO", "END A", "END B", "STATE", "AGE", "BYTES", "RATE"]), widths: shownWidths)]
            // The selection stays in view: the window of rows scrolls with it.
            let shown = max(1, height - 3)
            let first = min(max(0, selection - shown + 1), max(0, rows.count - shown))
            for (index, flow) in rows.enumerated().dropFirst(first).prefix(shown) {
                func end(_ address: String, _ port: Int) -> String { port == 0 ? address : address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
                let row = cells([flow.proto, end(flow.addressA, flow.portA), end(flow.addressB, flow.portB), flow.state,
                                 ConsoleApp.duration(Double(flow.ageSeconds)), Self.count(Double(flow.bytes)), Self.bits(flow.bytesPerSecond)])
                lines.append((index == selection ? glyphs.arrowTo : " ") + Self.row(row, widths: shownWidths))
            }
            if rows.isEmpty { lines.append(" (no flows yet: they come every 2 s)") }
            lines += ["", narrow ? "j/k move  s sort (rate, age, bytes)  c capture the flow  Esc back"
                                 : "j/k move   s sort (rate, age, bytes)   c capture the selected flow   Esc back"]
            let whose = switch subject {
            case .target(let id, let address): "on \(model.targets[id]?.address ?? address)"
            case .address(let address): "of \(address)"
            }
            return ("Flows \(whose) (\(rows.count)\(rows.count >= FlowWatch.limit ? "+" : "")) sort: \(sort.rawValue)", lines)
        case .help:
            var lines = ["q quit    Tab next pane    j/k or arrows move    Enter the target's flows    i details",
                         "/ filter    s sort column    p pause    t next theme",
                         "w rates over 2, 10 or 40 s",
                         "c capture drops to a pcapng file (c again stops)",
                         ": command (Tab completes): target ADDR, flows ADDR, theme NAME, sort COLUMN,",
                         "  filter TEXT, window 2|10|40, lb NAME|all, quit"]
            if !state.readOnly { lines.append("d drain the selected target    r register a target    u cancel a drain") }
            return ("Keys", lines + ["", "Esc or Enter closes"])
        case .details(let id):
            guard let target = model.targets[id] else { return ("Target", ["(gone)"]) }
            let rates = model.targetRates[id], window = state.rateWindow
            return ("Target \(target.address)", (target.loadBalancer.isEmpty ? [] : ["lb         \(target.loadBalancer)"]) + [
                "state      \(glyphs.symbol(forState: target.state)) \(target.state) \(target.reason ?? "")",
                "zone       \(target.zone)   port \(target.port)",
                "flows      \(Self.grouped(target.activeFlows)) pinned",
                "to it      \(Self.count(rates?.packetsTo.perSecond(over: window))) pkt/s  \(Self.bits(rates?.bytesTo.perSecond(over: window)))   total \(target.packetsToTarget) pkt",
                "from it    \(Self.count(rates?.packetsFrom.perSecond(over: window))) pkt/s  \(Self.bits(rates?.bytesFrom.perSecond(over: window)))   total \(target.packetsFromTarget) pkt",
            ] + Set(target.nodes.keys).union(target.byNode.keys).sorted().enumerated().map { index, node in
                // The consensus is `state`, the counts above the cluster's: each live node's own, below.
                let counts = target.byNode[node].map {
                    "  \(Self.grouped(Int($0.activeFlows))) flows, \(Self.grouped(Int($0.packetsToTarget))) pkt to, \(Self.grouped(Int($0.packetsFromTarget))) pkt from"
                } ?? ""
                return (index == 0 ? "by node    " : "           ") + "\(node): \(target.nodes[node] ?? "-")" + counts
            })
        case .drain(let id, let confirmFocused, let typed, let needsTyping):
            let target = model.targets[id]
            let others = model.targets.values.filter { $0.id != id && $0.state == "healthy" && $0.loadBalancer == target?.loadBalancer }
                .map(\.address).sorted()
            var lines = [
                "\(Self.grouped(target?.activeFlows ?? 0)) flows are pinned to it: they keep flowing until the drain ends.",
                "New flows go to: " + (others.isEmpty ? "no healthy target (fail-open to the registered ones)" : others.joined(separator: ", ")),
            ]
            // gwlbd's dry run, once it answered: the flows now, when the drain ends, what happens then.
            if let preview = state.drainPreview, preview.target == id { lines += preview.lines }
            else { lines.append("The drain ends after the deregistration delay (300 s by default).") }
            if needsTyping { lines += ["", "This is the last healthy target. Type its address to confirm: \(typed)_"] }
            let cancel = confirmFocused ? "  Cancel  " : "[ Cancel ]", drain = confirmFocused ? "[ Drain ]" : "  Drain  "
            return ("Drain \(target?.address ?? id)?", lines + ["", "\(cancel)   \(drain)      (Tab switches, Enter chooses, Esc cancels)"])
        case .register(let text, let error):
            return ("Register a target", ["IPv4 address: \(text)_"] + (error.map { ["", $0] } ?? []) + ["", "Enter registers, Esc cancels"])
        case .filter(let text):
            return ("Filter targets", ["address or state contains: \(text)_", "", "Enter applies (empty: all), Esc cancels"])
        case .command(let text, _):
            return ("Command", [":" + text])  // drawn on the bottom line, not in a box
        }
    }

    func box(_ content: (title: String, lines: [String]), _ surface: Surface) {
        let width = min(surface.width - 2, max(content.title.count + 6, (content.lines.map(\.count).max() ?? 0) + 4))
        let height = content.lines.count + 2
        let left = (surface.width - width) / 2, top = max(1, (surface.height - height) / 2)
        let edge = String(repeating: glyphs.horizontal, count: width - 2)
        surface.put(String(glyphs.vertical) + " " + content.title + " " + String(edge.dropFirst(content.title.count + 2)) + String(glyphs.vertical),
                    row: top, column: left, style: "title")
        for (index, line) in content.lines.enumerated() {
            let text = String(line.prefix(width - 4))
            surface.put(String(glyphs.vertical) + " " + text + String(repeating: " ", count: width - 3 - text.count) + String(glyphs.vertical),
                        row: top + 1 + index, column: left, style: "selected_fg")
        }
        surface.put(String(glyphs.vertical) + edge + String(glyphs.vertical), row: top + height - 1, column: left, style: "title")
    }

    // MARK: Panes

    /// - Parameter shown: the load balancer `:lb` chose (nil: all of them).
    func header(_ model: ConsoleModel, _ surface: Surface, uptime: String, window: Double, shown: String?) {
        let connection: String = switch model.connection {
        case .live: "live"
        case .connecting: "connecting"
        case .stale: "stale (no heartbeat)"
        case .disconnected: "disconnected, retrying"
        }
        // Most important first; the rest as far as the width allows.
        let parts = [
            "gwlb " + (shown ?? (model.loadBalancers.count > 1 ? "all \(model.loadBalancers.count) load balancers"
                                 : model.loadBalancerName ?? "(no load balancer)")), connection,
            model.failedEndpoints.isEmpty ? nil : "ENDPOINT FAILED: " + model.failedEndpoints.joined(separator: ", "),
            model.routingDrift.isEmpty ? nil : "ROUTE DRIFT: \(model.routingDrift.count) (gwlb ec2 repair-route-tables)",
            "in \(Self.count(model.packetsInRate.perSecond(over: window)))pkt/s \(Self.bits(model.bytesInRate.perSecond(over: window)))",
            "new \(Self.count(model.newFlowRate.perSecond(over: window)))/s", "drops \(Self.count(model.dropRate.perSecond(over: window)))/s",
            "gwlbd \(model.version.isEmpty ? "?" : model.version)", uptime.isEmpty ? nil : "up \(uptime)",
        ].compactMap { $0 }
        var text = ""
        for part in parts {
            let next = text.isEmpty ? part : text + glyphs.separator + part
            if next.count > surface.width { break }
            text = next
        }
        surface.put(String(repeating: " ", count: surface.width), row: 0, column: 0, style: "header_bg")
        surface.put(text, row: 0, column: 0, style: model.connection == .live ? "header_fg" : "stale")
    }

    func title(_ text: String, _ surface: Surface, row: Int) {
        let line = String(glyphs.horizontal) + " " + text + " " + String(repeating: glyphs.horizontal, count: max(0, surface.width - text.count - 3))
        surface.put(line, row: row, column: 0, style: "title")
    }

    func flowTable(_ model: ConsoleModel, _ surface: Surface, row: Int, style: String?, window: Double) -> Int {
        title("Flow table", surface, row: row)
        let active = model.flows.active, capacity = max(1, model.flows.capacity)
        let fraction = Double(active) / Double(capacity)
        let gaugeWidth = max(10, surface.width / 3)
        let filled = min(gaugeWidth, Int((fraction * Double(gaugeWidth)).rounded(.up)))
        let gauge = String(repeating: glyphs.gaugeFull, count: filled) + String(repeating: glyphs.gaugeEmpty, count: gaugeWidth - filled)
        let occupancy = fraction < 0.5 ? "occupancy_start" : fraction < 0.8 ? "occupancy_mid" : "occupancy_end"
        let label = "active \(Self.grouped(active)) / \(Self.grouped(capacity)) "
        surface.put(label, row: row + 1, column: 1, style: style ?? "main_fg")
        surface.put("[" + gauge + "]", row: row + 1, column: 1 + label.count, style: style ?? occupancy)
        surface.put(String(format: " %.1f%%", fraction * 100), row: row + 1, column: 3 + label.count + gaugeWidth, style: style ?? "main_fg")
        var rates = "new \(Self.count(model.newFlowRate.perSecond(over: window)))/s  expired \(Self.count(model.expiredFlowRate.perSecond(over: window)))/s  rejected \(Self.grouped(model.flows.rejected))  "
        let (tcp, udp) = (model.flows.tcp, model.flows.udp)
        rates += "tcp \(Self.count(Double(tcp))) udp \(Self.count(Double(udp))) other \(Self.count(Double(max(0, active - tcp - udp))))  "
        surface.put(rates, row: row + 2, column: 1, style: style ?? "main_fg")
        surface.put(sparkline(model.activeFlowHistory, width: max(0, surface.width - rates.count - 2)), row: row + 2, column: 1 + rates.count,
                    style: style ?? "graph")
        return row + 3
    }

    /// A node of a cluster: the nodes (alive or dead, flows, packets per second, heartbeat), a line
    /// each on a tall terminal, all on one line otherwise (the targets keep their rows).
    func nodes(_ model: ConsoleModel, _ surface: Surface, row: Int, style: String?) -> Int {
        let alive = model.nodes.filter(\.alive).count
        title("Nodes (\(alive) of \(model.nodes.count) alive)", surface, row: row)
        guard surface.height >= 30 else {
            let summary = model.nodes.map { node in
                node.alive ? "\(node.name) alive \(Self.grouped(Int(node.activeFlows))) flows \(Self.count(node.packetsPerSecond)) pkt/s" : "\(node.name) DEAD"
            }
            surface.put(String(summary.joined(separator: " \(glyphs.vertical) ").prefix(surface.width - 2)), row: row + 1, column: 1,
                        style: style ?? (alive == model.nodes.count ? "main_fg" : "target_unhealthy"))
            return row + 2
        }
        let widths = [10, 7, 10, 16, 10, 11, 10]
        surface.put(Self.row(["NODE", "STATE", "VERSION", "GENEVE", "FLOWS", "PACKETS/S", "HEARTBEAT"], widths: widths), row: row + 1, column: 1,
                    style: style ?? "title")
        for (index, node) in model.nodes.prefix(9).enumerated() {
            let cells = [node.name, node.alive ? "alive" : "DEAD", node.version, node.geneveAddress, Self.grouped(Int(node.activeFlows)),
                         Self.count(node.packetsPerSecond), String(format: "%.1fs ago", node.heartbeatAge)]
            surface.put(Self.row(cells, widths: widths), row: row + 2 + index, column: 1, style: style ?? (node.alive ? "main_fg" : "target_unhealthy"))
        }
        return row + 2 + min(model.nodes.count, 9)
    }

    static func milliseconds(_ value: Int?) -> String { value.map { $0 == 0 ? "<1ms" : "\($0)ms" } ?? "-" }

    func targets(_ model: ConsoleModel, _ state: ConsoleState, _ surface: Surface, row: Int, lastRow: Int,
                 style: String?) -> (Int, TargetPaneLayout) {
        let rows = state.visibleTargets(model), window = state.rateWindow
        let clusterWide = model.targets.values.contains { !$0.byNode.isEmpty }
        title("Targets (\(rows.count)\(clusterWide ? ", all \(model.nodes.filter(\.alive).count) nodes" : ""))"
              + (state.filter.isEmpty ? "" : " filter: \(state.filter)") + " sort: \(state.sort.rawValue)"
              + " rates over \(Int(window)) s", surface, row: row)
        let wide = surface.width >= 100
        var columns = [("TARGET", 16), ("STATE", 13), ("REASON", wide ? 32 : 0), ("FLOWS", 7), ("PKT/S" + glyphs.arrowTo, 9),
                       ("B/S" + glyphs.arrowTo, 9), ("PKT/S" + glyphs.arrowFrom, 9), ("B/S" + glyphs.arrowFrom, 9)]
        // The columns a click on their title sorts by, in order (the rest sort nothing).
        let sorts: [ConsoleState.Sort?] = [.address, .state, .reason, .flows, .packetsTo, .bytesTo, .packetsFrom, .bytesFrom]
        let sortable = zip(columns, sorts).filter { $0.0.1 > 0 }.map(\.1)
        columns = columns.filter { $0.1 > 0 }
        let check = surface.width - 2 - columns.map(\.1).reduce(0, +) >= 7
        if check { columns.append(("CHECK", 7)) }
        // The data-path probe's round trip, where a target group probes it.
        let dataPath = surface.width - 2 - columns.map(\.1).reduce(0, +) >= 7 && rows.contains { $0.dataPathMilliseconds != nil }
        if dataPath { columns.append(("GENEVE", 7)) }
        // What is left of a wide screen shows each target's packets per second over time.
        let trendWidth = wide ? surface.width - 2 - columns.map(\.1).reduce(0, +) : 0
        if trendWidth >= 6 { columns.append(("TREND", trendWidth)) }
        surface.put(Self.row(columns.map(\.0), widths: columns.map(\.1)), row: row + 1, column: 1, style: style ?? "title")
        var line = row + 2
        for (index, target) in rows.enumerated() where line <= lastRow {
            let rates = model.targetRates[target.id]
            var cells = [target.address, glyphs.symbol(forState: target.state) + " " + target.state]
            if wide { cells.append(target.reason ?? "") }
            cells += [Self.grouped(target.activeFlows), Self.count(rates?.packetsTo.perSecond(over: window)), Self.count(rates?.bytesTo.perSecond(over: window)),
                      Self.count(rates?.packetsFrom.perSecond(over: window)), Self.count(rates?.bytesFrom.perSecond(over: window))]
            if check { cells.append(Self.milliseconds(target.checkMilliseconds)) }
            if dataPath { cells.append(Self.milliseconds(target.dataPathMilliseconds)) }
            if trendWidth >= 6 { cells.append(sparkline(model.targetHistory[target.id] ?? [], width: trendWidth - 1)) }
            let pending = state.pending[target.id].map { " (\($0) pending)" } ?? ""
            let selected = state.pane == .targets && index == state.selection
            let text = Self.row(cells, widths: columns.map(\.1)) + pending
            if selected {
                surface.put(String(repeating: " ", count: surface.width - 1), row: line, column: 1, style: "selected_bg")
                surface.put(glyphs.arrowTo, row: line, column: 0, style: "selected_fg")  // the selection, not by colour alone
            }
            surface.put(text, row: line, column: 1, style: style ?? (selected ? "selected_fg" : pending.isEmpty ? "target_\(target.state)" : "pending"))
            line += 1
        }
        if rows.isEmpty { surface.put("no targets (gwlb register-targets, or r here)", row: line, column: 1, style: style ?? "stale") }
        var start = 1
        let spans = columns.enumerated().map { index, column in
            defer { start += column.1 }
            return TargetPaneLayout.Column(columns: start..<(start + column.1), sort: index < sortable.count ? sortable[index] : nil)
        }
        return (line, TargetPaneLayout(titleRow: row + 1, rows: (row + 2)..<line, columns: spans))
    }

    /// Packets per second to each target and drops per second over the kept samples (five minutes
    /// at most), as block graphs, newest on the right, each as tall as the free rows allow (up to
    /// four); the targets share one scale so their graphs compare, the drops have their own.
    func history(_ model: ConsoleModel, _ state: ConsoleState, _ surface: Surface, row: Int, lastRow: Int, style: String?) {
        let width = surface.width - 20
        let free = lastRow - row
        let targets = state.visibleTargets(model).prefix(free - 1)
        let height = max(1, min(4, free / (targets.count + 1)))
        let series = targets.map { model.targetHistory[$0.id] ?? [] }
        let samples = max(series.map { min($0.count, width) }.max() ?? 0, min(model.dropHistory.count, width))
        let top = series.map { $0.suffix(width).max() ?? 0 }.max() ?? 0
        title("History: pkt/s to each target (top \(Self.count(Double(top)))) and drops/s, last \(samples) updates", surface, row: row)
        var line = row + 1
        func plot(_ label: String, _ values: [Int], top: Int, rows: Int, style graphStyle: String) {
            surface.put(String(label.prefix(17)), row: line + rows - 1, column: 1, style: style ?? "main_fg")
            for (index, text) in graph(values, width: width, top: top, height: rows).enumerated() {
                surface.put(text, row: line + index, column: 19, style: style ?? graphStyle)
            }
            line += rows
        }
        for (target, values) in zip(targets, series) where line + height - 1 <= lastRow - 1 {
            plot(target.address, values, top: top, rows: height, style: "graph")
        }
        let drops = model.dropHistory.suffix(width).max() ?? 0
        plot("drops/s " + Self.count(Double(drops)), model.dropHistory, top: drops, rows: min(height, lastRow - line + 1), style: "drop")
    }

    /// The last `width` values as bars against `top`, `height` rows tall (top row first), right-
    /// aligned: eighths of a cell from the block glyphs, a blank where there is no sample yet, the
    /// lowest block for zero.
    func graph(_ values: [Int], width: Int, top: Int, height: Int = 1) -> [String] {
        let shown = values.suffix(width)
        let levels = glyphs.sparks.count
        let eighths = shown.map { top > 0 ? ($0 * levels * height + top - 1) / top : 0 }
        return (0..<height).reversed().map { level in
            let cells = eighths.map { total -> Character in
                let filled = min(levels, max(0, total - level * levels))
                return filled > 0 ? glyphs.sparks[filled - 1] : level == 0 ? glyphs.sparks[0] : " "
            }
            return String(repeating: " ", count: width - shown.count) + String(cells)
        }
    }

    func lists(_ model: ConsoleModel, _ state: ConsoleState, _ surface: Surface, row: Int, rows: Int, style: String?) {
        let half = surface.width / 2
        let left = String(glyphs.horizontal) + " Recent drops "
        surface.put(left + String(repeating: glyphs.horizontal, count: max(0, half - left.count)), row: row, column: 0, style: "title")
        let right = String(glyphs.horizontal) + " Health " + String(glyphs.horizontal) + " actions "
        surface.put(right + String(repeating: glyphs.horizontal, count: max(0, surface.width - half - right.count)), row: row, column: half, style: "title")
        for (index, drop) in model.recentDrops.prefix(rows).enumerated() {
            surface.put(dropLine(drop, width: half - 2), row: row + 1 + index, column: 1, style: style ?? "drop")
        }
        let actions = state.actionLog.suffix(2).reversed().map { "\($0)" }
        let events = model.healthEvents.prefix(max(0, rows - actions.count)).map { event in
            "\(String(event.time.dropFirst(11).prefix(8))) \(event.target) \(glyphs.symbol(forState: event.state)) \(event.state) \(event.reason ?? "")"
        }
        for (index, text) in (events + actions).enumerated() {
            surface.put(String(text.prefix(surface.width - half - 2)), row: row + 1 + index, column: half + 1, style: style ?? "main_fg")
        }
    }

    /// A drop in `width` columns: everything when it fits, else the time, protocol, size and ports
    /// give way, in that order, then the reason's end, so the addresses stay whole (half an
    /// 80-column screen holds two IPv4 addresses); only then are the addresses cut in their middle.
    func dropLine(_ drop: ConsoleModel.Drop, width: Int) -> String {
        let time = String(drop.time.dropFirst(11).prefix(8))
        func end(_ address: String, _ port: Int, ports: Bool) -> String {
            guard ports, port != 0 else { return address }
            return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
        func path(ports: Bool) -> String {
            end(drop.source, drop.sourcePort, ports: ports) + String(glyphs.arrowTo) + end(drop.destination, drop.destinationPort, ports: ports)
        }
        let candidates = ["\(time) \(drop.reason) \(drop.size)B \(drop.proto) \(path(ports: true))", "\(drop.reason) \(drop.size)B \(path(ports: true))",
                          "\(drop.reason) \(path(ports: true))", "\(drop.reason) \(path(ports: false))"]
        if let fitting = candidates.first(where: { $0.count <= width }) { return fitting }
        // The addresses first, then as much of the reason as fits.
        let addresses = path(ports: false)
        if addresses.count <= width { return String((addresses + " " + drop.reason).prefix(width)) }
        guard width > 1 else { return String(addresses.prefix(width)) }
        let keep = width - 1
        return String(addresses.prefix(keep - keep / 2)) + glyphs.ellipsis + String(addresses.suffix(keep / 2))
    }

    func footer(_ model: ConsoleModel, _ state: ConsoleState, _ surface: Surface) {
        let keys = state.readOnly ? "?:help q:quit Tab:pane j/k:move /:filter ::command s:sort p:pause t:theme c:capture  (read-only)"
                                  : "?:help q:quit d:drain r:register u:undrain /:filter s:sort p:pause t:theme" + (surface.width >= 90 ? " c:capture ::command" : "")
        let paused = state.paused ? "PAUSED  " : ""
        surface.put(String((paused + keys).prefix(surface.width)), row: surface.height - 1, column: 0, style: state.paused ? "pending" : "border")
    }

    /// Command mode's line, in place of the keys: what is typed, then Tab's candidates or the error.
    func commandLine(_ text: String, message: String?, _ surface: Surface) {
        let line = ":" + text + "_" + (message.map { "   " + $0 } ?? "")
        surface.put(String(repeating: " ", count: surface.width), row: surface.height - 1, column: 0, style: "header_bg")
        surface.put(String(line.suffix(surface.width)), row: surface.height - 1, column: 0, style: "header_fg")
    }

    // MARK: Formatting

    func sparkline(_ values: [Int], width: Int) -> String {
        let shown = values.suffix(width)
        guard let top = shown.max(), top > 0 else { return String(repeating: glyphs.sparks[0], count: shown.count) }
        return String(shown.map { glyphs.sparks[min(glyphs.sparks.count - 1, $0 * (glyphs.sparks.count - 1) / top)] })
    }

    static func row(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths).map { cell, width in
            cell.count >= width ? String(cell.prefix(width - 1)) + " " : cell + String(repeating: " ", count: width - cell.count)
        }.joined()
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ value: Int) -> String {
        let digits = String(abs(value))
        var output = ""
        for (index, digit) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { output.append(",") }
            output.append(digit)
        }
        return (value < 0 ? "-" : "") + String(output.reversed())
    }

    /// A rate as 0, 950, 1.2k, 3.4M, 5.6G; "-" before the second sample.
    static func count(_ value: Double?) -> String {
        guard let value else { return "-" }
        switch value {
        case ..<1000: return String(Int(value.rounded()))
        case ..<1_000_000: return String(format: "%.1fk", value / 1e3)
        case ..<1_000_000_000: return String(format: "%.1fM", value / 1e6)
        default: return String(format: "%.1fG", value / 1e9)
        }
    }

    static func bits(_ bytesPerSecond: Double?) -> String {
        guard let bytesPerSecond else { return "-" }
        return count(bytesPerSecond * 8) + "b/s"
    }
}
