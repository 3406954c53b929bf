import Foundation

/// `:` command mode, as vim's and k9s's: a line at the bottom, Tab completes the command and its
/// argument, Enter runs it, Esc (or Backspace on an empty line) leaves.
///
///     :target ADDRESS   select a target and show its details
///     :flows ADDRESS    live flows with ADDRESS at either end (a target's address: its flows)
///     :theme NAME       switch theme
///     :sort COLUMN      sort the targets pane (address, state, reason, flows, pkt-out, bytes-out, pkt-back, bytes-back)
///     :filter TEXT      show the targets whose address, state or id contains TEXT (none: all)
///     :window SECONDS   rates over 2, 10 or 40 s
///     :lb NAME|all      the load balancer whose targets to show, or every one's
///     :quit
extension ConsoleState {
    public static let commands = ["filter", "flows", "lb", "quit", "sort", "target", "theme", "window"]

    /// The sort columns by the one-word names command mode uses.
    static let sortKeywords: [(String, Sort)] = [
        ("address", .address), ("state", .state), ("reason", .reason), ("flows", .flows),
        ("pkt-out", .packetsTo), ("bytes-out", .bytesTo), ("pkt-back", .packetsFrom), ("bytes-back", .bytesFrom),
    ]

    /// Whole lines `text` may complete to, in order.
    public func completions(of text: String, model: ConsoleModel) -> [String] {
        guard let space = text.firstIndex(of: " ") else {
            return Self.commands.filter { $0.hasPrefix(text) }.map { $0 == "quit" ? $0 : $0 + " " }
        }
        let command = String(text[..<space]), argument = String(text[text.index(after: space)...])
        return arguments(for: command, model: model).filter { $0.hasPrefix(argument) }.map { command + " " + $0 }
    }

    /// What `command` takes, as Tab offers it.
    private func arguments(for command: String, model: ConsoleModel) -> [String] {
        let byAddress = { (a: String, b: String) in a.compare(b, options: .numeric) == .orderedAscending }
        let targets = Set(visibleTargets(model).map(\.address)).sorted(by: byAddress)
        switch command {
        case "target": return targets
        case "flows":
            // Targets first, then the ends of recent drops (the addresses an operator chases).
            let ends = model.recentDrops.flatMap { [$0.source, $0.destination] }
            return targets + Set(ends).subtracting(targets).sorted(by: byAddress)
        case "theme": return themeNames
        case "sort": return Self.sortKeywords.map(\.0)
        case "window": return CounterRate.windows.map { String(Int($0)) }
        case "lb": return model.loadBalancers + ["all"]
        default: return []
        }
    }

    /// Tab: the one completion, else the candidates' common start and the candidates listed.
    func complete(_ text: String, model: ConsoleModel) -> Dialog {
        let options = completions(of: text, model: model)
        switch options.count {
        case 0: return .command(text: text, message: "no completion")
        case 1: return .command(text: options[0], message: nil)
        default:
            let common = options.dropFirst().reduce(options[0]) { prefix, option in String(zip(prefix, option).prefix { $0 == $1 }.map(\.0)) }
            let shown = options.map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? $0 }
            return .command(text: common.count > text.count ? common : text, message: shown.joined(separator: "  "))
        }
    }

    /// Enter: runs the line; a mistake keeps the line open with what was wrong.
    mutating func run(_ line: String, model: ConsoleModel) -> [ConsoleAction] {
        let words = line.trimmingCharacters(in: .whitespaces)
        let command = String(words.prefix { $0 != " " })
        let argument = words.dropFirst(command.count).trimmingCharacters(in: .whitespaces)
        func fail(_ message: String) -> [ConsoleAction] {
            dialog = .command(text: line, message: message)
            return []
        }
        func needs(_ what: String) -> [ConsoleAction]? { argument.isEmpty ? fail(":\(command) needs \(what) (Tab lists them)") : nil }
        dialog = nil
        switch command {
        case "": return []
        case "q", "quit": return [.quit]
        case "target":
            if let missing = needs("a target's address") { return missing }
            // The shown load balancer's target first: the same address may serve two.
            let candidates = model.targets.values.filter { $0.address == argument || $0.targetId == argument || $0.id == argument }
            guard let target = candidates.first(where: { loadBalancer == nil || $0.loadBalancer == loadBalancer }) ?? candidates.first else {
                return fail("no target \(argument)")
            }
            if let shown = loadBalancer, shown != target.loadBalancer { loadBalancer = nil }
            if !visibleTargets(model).contains(where: { $0.id == target.id }) { filter = "" }
            pane = .targets
            selection = visibleTargets(model).firstIndex { $0.id == target.id } ?? 0
            dialog = .details(target: target.id)
        case "flows":
            if let missing = needs("an address") { return missing }
            let subject: FlowSubject
            if let target = visibleTargets(model).first(where: { $0.address == argument }) {
                subject = .target(id: target.id, address: target.address)
            } else {
                guard Self.isIPv4(argument) || Self.isIPv6(argument) else { return fail("\(argument) is not an IPv4 or IPv6 address") }
                subject = .address(argument)
            }
            dialog = .flows(of: subject, selection: 0, sort: .rate)
            return [.watchFlows(subject)]
        case "theme":
            if let missing = needs("a theme") { return missing }
            guard themeNames.contains(argument) else { return fail("no theme \(argument) (themes: \(themeNames.joined(separator: ", ")))") }
            return [.setTheme(argument)]
        case "sort":
            if let missing = needs("a column") { return missing }
            guard let column = Self.sortKeywords.first(where: { $0.0 == argument })?.1 else {
                return fail("no column \(argument) (columns: \(Self.sortKeywords.map(\.0).joined(separator: ", ")))")
            }
            sort = column
        case "filter":
            filter = argument
            selection = 0
        case "window":
            guard let seconds = Double(argument), CounterRate.windows.contains(seconds) else { return fail("rates are over 2, 10 or 40 s") }
            rateWindow = seconds
        case "lb":
            if let missing = needs("a load balancer's name, or all") { return missing }
            if argument == "all" {
                loadBalancer = nil
            } else {
                guard model.loadBalancers.contains(argument) else {
                    return fail(model.loadBalancers.isEmpty ? "gwlbd serves no load balancer yet"
                                : "gwlbd serves \(model.loadBalancers.joined(separator: ", ")), not \(argument)")
                }
                // With one load balancer its name shows the same rows as all.
                loadBalancer = model.loadBalancers.count > 1 ? argument : nil
            }
            selection = 0
            actionLog.append("lb \(argument): shown")
        default:
            return fail("no command \(command) (commands: \(Self.commands.joined(separator: ", ")))")
        }
        return []
    }

    static func isIPv6(_ text: String) -> Bool {
        text.contains(":") && text.count <= 45 && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}
