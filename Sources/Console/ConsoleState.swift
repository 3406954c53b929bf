import Foundation

/// A key as the console reads it.
public enum Key: Equatable, Sendable {
    case character(Character)
    case tab, enter, escape, up, down, left, right, backspace, f1
    /// A left click at a cell of the screen (the wheel arrives as up and down).
    case click(row: Int, column: Int)
}

/// What a key asks the console to do beyond its own state.
public enum ConsoleAction: Equatable, Sendable {
    case quit
    /// DeregisterTargets for the target row (its key: it names the load balancer too); it drains
    /// for the deregistration delay.
    case drain(target: String)
    /// RegisterTargets for an address (also how a drain is cancelled), in the target group of the
    /// load balancer named (nil: the first gwlbd serves).
    case register(address: String, loadBalancer: String? = nil)
    case nextTheme
    case captureDrops
    /// DeregisterTargets with gwlb's DryRun, for the drain dialog's preview (a target row's key).
    case previewDrain(target: String)
    /// Poll these flows for the drill-down (nil: stop).
    case watchFlows(FlowSubject?)
    /// Capture one flow (by an end's address and port) to a pcapng file.
    case captureFlow(address: String, port: Int)
    /// Switch to the theme of this name (`:theme NAME`).
    case setTheme(String)
}

/// Whose flows the drill-down shows: a target's (Enter on it), or those with an address at either
/// end (`:flows ADDRESS`).
public enum FlowSubject: Equatable, Sendable {
    case target(id: String, address: String)
    case address(String)

    /// `/v1/flows`' query parameter for it.
    var query: (name: String, value: String) {
        switch self {
        case .target(_, let address): ("target", address)
        case .address(let address): ("address", address)
        }
    }
}

/// How the drill-down orders a target's flows.
public enum FlowSort: String, CaseIterable, Sendable {
    case rate, age, bytes
}

/// The console's own state: pane, selection, filter, sort, pause, dialogs, pending actions and
/// the action log. Keys change it (`handle`), never the screen directly.
public struct ConsoleState: Sendable {
    public enum Pane: CaseIterable, Sendable { case targets, drops, health }
    /// Every column of the targets pane; `s` cycles through them. Rates sort highest first.
    public enum Sort: String, CaseIterable, Sendable {
        case address, state, reason, flows
        case packetsTo = "pkt/s out", bytesTo = "B/s out", packetsFrom = "pkt/s back", bytesFrom = "B/s back"
    }

    public enum Dialog: Equatable, Sendable {
        case help
        case details(target: String)
        /// Live flows (a target's, or an address's): the selected row, the order.
        case flows(of: FlowSubject, selection: Int, sort: FlowSort)
        /// Cancel is focused first; draining the last healthy target needs its address typed.
        case drain(target: String, confirmFocused: Bool, typed: String, needsTyping: Bool)
        case register(text: String, error: String?)
        case filter(text: String)
        /// `:` command mode: the line typed so far, and what the last Tab or Enter had to say.
        case command(text: String, message: String?)
    }

    public var pane = Pane.targets
    public var selection = 0
    public var filter = ""
    public var sort = Sort.address
    public var paused = false
    /// Seconds every rate is averaged over: 2, 10 or 40, as iftop's columns (`w` cycles).
    public var rateWindow = CounterRate.windows[0]
    /// The load balancer whose targets are shown (`:lb NAME`); nil shows every one's.
    public var loadBalancer: String?
    public var readOnly: Bool
    public var dialog: Dialog?
    /// Target row key → the action waiting for the stream to confirm it ("drain", "register").
    public var pending: [String: String] = [:]
    public var actionLog: [String] = []
    /// What draining the dialog's target would do, once gwlbd answered the dry run.
    public var drainPreview: DrainPreview?
    /// The themes `:theme` completes and accepts.
    public var themeNames: [String]
    /// How many of the model's restart notes are in the action log.
    var restartsLogged = 0
    /// Where the targets pane was drawn last, for clicks.
    public var targetPane: TargetPaneLayout?

    public init(readOnly: Bool = false, themeNames: [String] = []) {
        self.readOnly = readOnly
        self.themeNames = themeNames
    }

    /// The targets as the pane lists them: filtered, sorted.
    public func visibleTargets(_ model: ConsoleModel) -> [ConsoleModel.Target] {
        let rows = model.targets.values.filter { target in
            (loadBalancer == nil || target.loadBalancer == loadBalancer)
                && (filter.isEmpty || target.address.contains(filter) || target.state.contains(filter) || target.id.contains(filter))
        }
        func rate(_ target: ConsoleModel.Target, _ which: KeyPath<ConsoleModel.Rates, CounterRate>) -> Double {
            model.targetRates[target.id].flatMap { $0[keyPath: which].perSecond(over: rateWindow) } ?? 0
        }
        let byAddress = { (a: ConsoleModel.Target, b: ConsoleModel.Target) in a.address.compare(b.address, options: .numeric) == .orderedAscending }
        switch sort {
        case .address: return rows.sorted(by: byAddress)
        case .state: return rows.sorted { $0.state != $1.state ? $0.state < $1.state : byAddress($0, $1) }
        case .reason: return rows.sorted { ($0.reason ?? "") != ($1.reason ?? "") ? ($0.reason ?? "") < ($1.reason ?? "") : byAddress($0, $1) }
        case .flows: return rows.sorted { $0.activeFlows != $1.activeFlows ? $0.activeFlows > $1.activeFlows : byAddress($0, $1) }
        case .packetsTo, .bytesTo, .packetsFrom, .bytesFrom:
            let which: KeyPath<ConsoleModel.Rates, CounterRate> = switch sort {
            case .packetsTo: \.packetsTo
            case .bytesTo: \.bytesTo
            case .packetsFrom: \.packetsFrom
            default: \.bytesFrom
            }
            return rows.sorted { rate($0, which) != rate($1, which) ? rate($0, which) > rate($1, which) : byAddress($0, $1) }
        }
    }

    public func selectedTarget(_ model: ConsoleModel) -> ConsoleModel.Target? {
        let rows = visibleTargets(model)
        return rows.indices.contains(selection) ? rows[selection] : nil
    }

    /// Handles one key; returns what the console must do.
    public mutating func handle(_ key: Key, model: ConsoleModel) -> [ConsoleAction] {
        if let dialog { return handle(key, in: dialog, model: model) }
        let count = visibleTargets(model).count
        switch key {
        case .character("q"): return [.quit]
        case .character("?"), .f1: dialog = .help
        case .tab: pane = Pane.allCases[(Pane.allCases.firstIndex(of: pane)! + 1) % Pane.allCases.count]
        case .down, .character("j"): selection = min(max(0, count - 1), selection + 1)
        case .up, .character("k"): selection = max(0, selection - 1)
        case .enter:
            guard let target = selectedTarget(model) else { break }
            let subject = FlowSubject.target(id: target.id, address: target.address)
            dialog = .flows(of: subject, selection: 0, sort: .rate)
            return [.watchFlows(subject)]
        case .character("i"): if let target = selectedTarget(model) { dialog = .details(target: target.id) }
        case .character("/"): dialog = .filter(text: filter)
        case .character(":"): dialog = .command(text: "", message: nil)
        case .character("s"): sort = Sort.allCases[(Sort.allCases.firstIndex(of: sort)! + 1) % Sort.allCases.count]
        case .character("p"): paused.toggle()
        case .character("w"):
            let windows = CounterRate.windows
            rateWindow = windows[((windows.firstIndex(of: rateWindow) ?? 0) + 1) % windows.count]
        case .character("t"): return [.nextTheme]
        case .character("c"): return [.captureDrops]
        case .character("d") where !readOnly:
            guard let target = selectedTarget(model), target.state != "draining" else { break }
            let healthy = model.targets.values.filter { $0.state == "healthy" && $0.loadBalancer == target.loadBalancer }
            let last = target.state == "healthy" && healthy.count == 1
            dialog = .drain(target: target.id, confirmFocused: false, typed: "", needsTyping: last)
            drainPreview = nil
            return [.previewDrain(target: target.id)]
        case .character("r") where !readOnly: dialog = .register(text: "", error: nil)
        case .click(let row, let column): return click(row: row, column: column, model: model)
        case .character("u") where !readOnly:
            guard let target = selectedTarget(model), target.state == "draining" else { break }
            return act(.register(address: target.targetId, loadBalancer: target.loadBalancer.isEmpty ? nil : target.loadBalancer),
                       target: target.id, label: "register (cancel drain)", model: model)
        default: break
        }
        return []
    }

    /// A click on a column's title sorts by it; on a target selects it, and on the selected one
    /// opens its flows (as Enter). Clicks elsewhere do nothing.
    private mutating func click(row: Int, column: Int, model: ConsoleModel) -> [ConsoleAction] {
        guard let pane = targetPane else { return [] }
        if row == pane.titleRow {
            if let sort = pane.columns.first(where: { $0.columns.contains(column) })?.sort { self.sort = sort }
            return []
        }
        guard pane.rows.contains(row) else { return [] }
        let index = row - pane.rows.lowerBound
        guard index < visibleTargets(model).count else { return [] }
        if self.pane == .targets && index == selection { return handle(.enter, model: model) }
        self.pane = .targets
        selection = index
        return []
    }

    /// A target's flows in the drill-down's order: fastest, oldest or biggest first.
    public static func sortedFlows(_ rows: [FlowWatch.Row], by sort: FlowSort) -> [FlowWatch.Row] {
        switch sort {
        case .rate: rows.sorted { ($0.bytesPerSecond ?? -1, $0.bytes) > ($1.bytesPerSecond ?? -1, $1.bytes) }
        case .age: rows.sorted { $0.ageSeconds > $1.ageSeconds }
        case .bytes: rows.sorted { $0.bytes > $1.bytes }
        }
    }

    private mutating func handle(_ key: Key, in dialog: Dialog, model: ConsoleModel) -> [ConsoleAction] {
        if key == .escape {
            self.dialog = nil
            if case .flows = dialog { return [.watchFlows(nil)] }
            return []
        }
        switch dialog {
        case .flows(let subject, var selection, var sort):
            let rows = Self.sortedFlows(model.drillFlows, by: sort)
            switch key {
            case .character("q"):
                self.dialog = nil
                return [.watchFlows(nil)]
            case .down, .character("j"): selection = min(max(0, rows.count - 1), selection + 1)
            case .up, .character("k"): selection = max(0, selection - 1)
            case .character("s"): sort = FlowSort.allCases[(FlowSort.allCases.firstIndex(of: sort)! + 1) % FlowSort.allCases.count]
            case .character("c"):
                guard rows.indices.contains(selection) else { break }
                let row = rows[selection]
                return [.captureFlow(address: row.addressA, port: row.portA)]
            default: break
            }
            self.dialog = .flows(of: subject, selection: selection, sort: sort)
        case .help, .details:
            if key == .enter || key == .character("q") || key == .character("?") { self.dialog = nil }
        case .command(var text, _):
            switch key {
            case .enter: return run(text, model: model)
            case .tab: self.dialog = complete(text, model: model)
            case .backspace where text.isEmpty: self.dialog = nil
            case .backspace: text = String(text.dropLast()); self.dialog = .command(text: text, message: nil)
            case .character(let character): text.append(character); self.dialog = .command(text: text, message: nil)
            default: break
            }
        case .filter(var text):
            switch key {
            case .enter: filter = text; selection = 0; self.dialog = nil
            case .backspace: text = String(text.dropLast()); self.dialog = .filter(text: text)
            case .character(let character): text.append(character); self.dialog = .filter(text: text)
            default: break
            }
        case .drain(let target, let confirmFocused, var typed, let needsTyping):
            switch key {
            case .tab, .left, .right: self.dialog = .drain(target: target, confirmFocused: !confirmFocused, typed: typed, needsTyping: needsTyping)
            case .enter:
                guard confirmFocused else { self.dialog = nil; return [] }  // Enter on Cancel cancels
                let address = model.targets[target]?.address ?? target
                guard !needsTyping || typed == address else { return [] }
                self.dialog = nil
                return act(.drain(target: target), target: target, label: "drain", model: model)
            case .backspace where needsTyping:
                typed = String(typed.dropLast())
                self.dialog = .drain(target: target, confirmFocused: confirmFocused, typed: typed, needsTyping: true)
            case .character(let character) where needsTyping:
                typed.append(character)
                self.dialog = .drain(target: target, confirmFocused: confirmFocused, typed: typed, needsTyping: true)
            default: break
            }
        case .register(var text, _):
            switch key {
            case .enter:
                guard Self.isIPv4(text) else {
                    self.dialog = .register(text: text, error: "'\(text)' is not an IPv4 address")
                    return []
                }
                self.dialog = nil
                let balancer = registeringLoadBalancer(model)
                return act(.register(address: text, loadBalancer: balancer), target: model.rowKey(loadBalancer: balancer, targetId: text),
                           label: "register", model: model)
            case .backspace: text = String(text.dropLast()); self.dialog = .register(text: text, error: nil)
            case .character(let character): text.append(character); self.dialog = .register(text: text, error: nil)
            default: break
            }
        }
        return []
    }

    /// Marks an action pending (until the stream shows its effect) and logs it.
    private mutating func act(_ action: ConsoleAction, target: String, label: String, model: ConsoleModel) -> [ConsoleAction] {
        pending[target] = label
        actionLog.append("\(label) \(Self.name(target, model)): pending")
        return [action]
    }

    /// The load balancer `r` registers into: the one shown, else the selected target's when
    /// several are served (nil: gwlbd's first).
    func registeringLoadBalancer(_ model: ConsoleModel) -> String? {
        if let loadBalancer { return loadBalancer }
        guard model.loadBalancers.count > 1, let target = selectedTarget(model), !target.loadBalancer.isEmpty else { return nil }
        return target.loadBalancer
    }

    /// How the action log names a target row, also before the stream has it.
    static func name(_ key: String, _ model: ConsoleModel) -> String {
        model.targets[key] != nil ? model.displayName(key)
            : model.loadBalancers.count > 1 ? key : String(key.split(separator: "/", maxSplits: 1).last ?? Substring(key))
    }

    /// Records the API's answer to an action.
    public mutating func completed(_ label: String, target: String, error: String?, model: ConsoleModel) {
        if let error {
            pending[target] = nil
            actionLog.append("\(label) \(Self.name(target, model)): failed: \(error)")
        } else {
            actionLog.append("\(label) \(Self.name(target, model)): accepted")
        }
    }

    /// Clears pending marks the stream has confirmed: a drained target shows `draining`, a
    /// registered one appears (any state but draining).
    public mutating func confirm(from model: ConsoleModel) {
        // Restarts of gwlbd go to the action log once each.
        if model.restarts.count > restartsLogged { actionLog += model.restarts.dropFirst(restartsLogged) }
        restartsLogged = model.restarts.count
        for (target, label) in pending {
            guard let row = model.targets[target] else { continue }
            let confirmed = label == "drain" ? row.state == "draining" : row.state != "draining"
            if confirmed {
                pending[target] = nil
                actionLog.append("\(label) \(Self.name(target, model)): confirmed (\(row.state))")
            }
        }
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isNumber) && Int(part)! <= 255 }
    }
}
