import ControlClient
import Foundation
import NIOPosix
import Synchronization

/// `gwlb console`: the stream in, the panes out, keys to actions (DeregisterTargets and
/// RegisterTargets through the elbv2 API on the same socket).
public struct ConsoleApp {
    public var socketPath: String
    public var themeName: String
    public var readOnly: Bool
    public var refreshSeconds: Double
    public var executable: String
    /// Clicks select and sort, the wheel moves (off: the terminal keeps the mouse, to select text).
    public var mouse = true
    /// Asked every pass: true ends the console as `q` would (the demo's Ctrl-C).
    public var shouldStop: @Sendable () -> Bool = { false }

    public init(socketPath: String, themeName: String, readOnly: Bool, refreshSeconds: Double, executable: String) {
        self.socketPath = socketPath
        self.themeName = themeName
        self.readOnly = readOnly
        self.refreshSeconds = refreshSeconds
        self.executable = executable
    }

    public func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let directories = Theme.searchDirectories(executable: executable, environment: environment)
        var themes = Theme.available(in: directories)
        if themes.isEmpty { themes = [themeName] }
        var theme = (try? Theme.load(named: themeName, from: directories).theme) ?? Theme.builtIn
        // Connecting needs write permission on the socket: without it, watch only.
        let writable = access(socketPath, W_OK) == 0
        var state = ConsoleState(readOnly: readOnly || !writable, themeNames: themes)
        let connection = StreamConnection(socketPath: socketPath)
        connection.start()
        defer { connection.stop() }
        let results = ActionResults()
        let flowWatch = FlowWatch(socketPath: socketPath)
        defer { flowWatch.watch(nil) }
        let surface = CursesSurface(theme: theme, environment: environment, mouse: mouse)
        defer { surface.end() }
        let screen = ConsoleScreen(glyphs: Glyphs.detect(environment: environment))
        var shown = connection.model.withLock { $0 }
        var lastDraw = 0.0
        var dirty = true
        while !surface.hungUp && !shouldStop() {
            let now = ProcessInfo.processInfo.systemUptime
            if let key = surface.readKey() {
                dirty = true
                for action in state.handle(key ?? .character("\u{0}"), model: shown) {
                    switch action {
                    case .quit: return
                    case .nextTheme:
                        if let index = themes.firstIndex(of: theme.name) ?? themes.indices.first {
                            let next = themes[(index + 1) % themes.count]
                            theme = (try? Theme.load(named: next, from: directories).theme) ?? theme
                            surface.apply(theme)
                            state.actionLog.append("theme \(theme.name)")
                        }
                    case .captureDrops:
                        if let file = capture("drops", query: [("drops", "1"), ("count", "1000"), ("duration", "60")], results: results) {
                            state.actionLog.append("capture: drops for up to 60 s or 1,000 packets to \(file) (c stops)")
                        } else {
                            results.stopCapture.store(true, ordering: .releasing)
                            state.actionLog.append("capture: stopping")
                        }
                    case .drain(let key):
                        let row = connection.model.withLock { $0.targets[key] }
                        perform("DeregisterTargets", targetId: row?.targetId ?? key, loadBalancer: row?.loadBalancer, key: key,
                                label: "drain", results: results)
                    case .previewDrain(let key):
                        let row = connection.model.withLock { $0.targets[key] }
                        previewDrain(key, targetId: row?.targetId ?? key, loadBalancer: row?.loadBalancer, results: results)
                    case .watchFlows(let subject): flowWatch.watch(subject)
                    case .setTheme(let name):
                        if let loaded = try? Theme.load(named: name, from: directories).theme {
                            theme = loaded
                            surface.apply(theme)
                            state.actionLog.append("theme \(theme.name)")
                        }
                    case .captureFlow(let address, let port):
                        // A flow without ports (ICMP, other protocols) is captured by its address alone.
                        let filter = [("address", address)] + (port == 0 ? [] : [("port", String(port))])
                        let file = capture("flow", query: filter + [("count", "1000"), ("duration", "60")], results: results)
                        let what = port == 0 ? address : "\(address) port \(port)"
                        state.actionLog.append(file.map { "capture: \(what) for up to 60 s or 1,000 packets to \($0)" }
                                               ?? "capture: one runs already (c in the main screen stops it)")
                    case .register(let address, let balancer):
                        let key = connection.model.withLock { $0.rowKey(loadBalancer: balancer, targetId: address) }
                        perform("RegisterTargets", targetId: address, loadBalancer: balancer, key: key,
                                label: state.pending[key] ?? "register", results: results)
                    }
                }
            }
            for result in results.take() {
                state.completed(result.label, target: result.target, error: result.error, model: connection.model.withLock { $0 })
                dirty = true
            }
            if let preview = results.preview.withLock({ preview in defer { preview = nil }; return preview }) {
                state.drainPreview = preview
                dirty = true
            }
            for note in results.takeNotes() {
                state.actionLog.append(note)
                dirty = true
            }
            if now - lastDraw >= refreshSeconds || dirty {
                if !state.paused {
                    connection.model.withLock { $0.checkStaleness(at: now) }
                    shown = connection.model.withLock { $0 }
                    state.confirm(from: shown)
                }
                if case .flows = state.dialog { shown.drillFlows = flowWatch.rows }
                let uptime = shown.gwlbdStarted.map { Self.duration(Date().timeIntervalSince($0)) } ?? ""
                state.targetPane = screen.draw(shown, state, on: surface, uptime: uptime)
                surface.show()
                lastDraw = now
                dirty = false
            }
        }
    }

    /// Runs an elbv2 call for `targetId` on the target group of `loadBalancer` (nil or empty:
    /// gwlbd's first), off the screen thread; the result names the target row `key`.
    private func perform(_ action: String, targetId: String, loadBalancer: String?, key: String, label: String, results: ActionResults) {
        let socketPath = self.socketPath
        Task {
            var error: String?
            do {
                try await Self.calls(socketPath) { client in
                    let group = try Self.targetGroup(client, loadBalancer: loadBalancer, for: action)
                    _ = try client.call(action, [("TargetGroupArn", group), ("Targets.member.1.Id", targetId)])
                }
            } catch let failure {
                error = "\(failure)"
            }
            results.list.withLock { $0.append(ActionResults.Result(label: label, target: key, error: error)) }
        }
    }

    /// Asks gwlbd what draining `target` would do (DeregisterTargets with DryRun), off the screen
    /// thread; the dialog shows the answer when it comes (a failure leaves the generic text).
    private func previewDrain(_ key: String, targetId: String, loadBalancer: String?, results: ActionResults) {
        let socketPath = self.socketPath
        Task {
            let answer = try? await Self.calls(socketPath) { client in
                let group = try Self.targetGroup(client, loadBalancer: loadBalancer, for: "DeregisterTargets")
                return try client.call("DeregisterTargets", [("TargetGroupArn", group), ("Targets.member.1.Id", targetId), ("DryRun", "true")])
            }
            guard let answer, let preview = DrainPreview(target: key, answer: answer) else { return }
            results.preview.withLock { $0 = preview }
        }
    }

    /// Runs elbv2 calls (which wait for their answers, and retry) on NIO's thread pool, off the
    /// screen's thread and Swift's shared ones.
    private static func calls<Value: Sendable>(_ socketPath: String, _ body: @escaping @Sendable (ELBClient) throws -> Value) async throws -> Value {
        try await NIOThreadPool.singleton.runIfActive { try body(ELBClient(socketPath: socketPath, userAgent: "gwlb-console")) }
    }

    /// The target group of the load balancer named `name` (nil or empty: the first gwlbd serves).
    private static func targetGroup(_ client: ELBClient, loadBalancer name: String?, for action: String) throws -> String {
        let balancer: String
        if let name, !name.isEmpty {
            let found = try client.call("DescribeLoadBalancers", [("Names.member.1", name)])
            guard case .array(let list)? = found["LoadBalancers"], case .string(let arn)? = list.first?["LoadBalancerArn"] else {
                throw ELBClient.APIError(code: "LoadBalancerNotFound", message: "no load balancer \(name)", action: action)
            }
            balancer = arn
        } else {
            let endpoints = try client.call("DescribeEndpoints", [])
            guard case .array(let list)? = endpoints["Endpoints"], case .string(let arn)? = list.first?["LoadBalancerArn"] else {
                throw ELBClient.APIError(code: "NoLoadBalancer", message: "gwlbd serves no load balancer yet", action: action)
            }
            balancer = arn
        }
        let listeners = try client.call("DescribeListeners", [("LoadBalancerArn", balancer)])
        guard case .array(let items)? = listeners["Listeners"], case .array(let actions)? = items.first?["DefaultActions"],
              case .string(let group)? = actions.first?["TargetGroupArn"] else {
            throw ELBClient.APIError(code: "NoListener", message: "the load balancer has no listener", action: action)
        }
        return group
    }

    /// Captures dropped packets to a pcapng file in the current directory (else /tmp), off the
    /// screen thread; the action log says where and, at the end, how many. Nil when one runs
    /// already (the caller stops it then).
    /// Captures what `query` selects (`kind`: drops or a flow) to a pcapng file in the current
    /// directory (else /tmp), off the screen thread; the action log says where and, at the end, how
    /// many. Nil when one runs already (the caller stops it then).
    private func capture(_ kind: String, query: [(String, String)], results: ActionResults) -> String? {
        guard results.capturing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return nil
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let name = "gwlb-\(kind)-\(formatter.string(from: Date())).pcapng"
        let directory = access(".", W_OK) == 0 ? FileManager.default.currentDirectoryPath : NSTemporaryDirectory()
        let file = (directory as NSString).appendingPathComponent(name)
        let socketPath = self.socketPath
        results.stopCapture.store(false, ordering: .releasing)
        Task {
            defer { results.capturing.store(false, ordering: .releasing) }
            do {
                let summary = try await PacketCapture.run(socketPath: socketPath, query: query, path: file, exclusive: true,
                                                    stop: { results.stopCapture.load(ordering: .acquiring) })
                let what = kind == "drops" ? "dropped packet" : "packet"
                results.note("capture: \(summary.captured) \(what)\(summary.captured == 1 ? "" : "s") in \(file)" + (summary.lost > 0 ? " (\(summary.lost) lost)" : ""))
            } catch {
                results.note("capture failed: \(error)")
            }
        }
        return file
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        return total >= 3600 ? "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" : "\(total / 60)m\(String(format: "%02d", total % 60))s"
    }
}

/// Answers to the console's API calls, from their threads to the screen's.
final class ActionResults: Sendable {
    struct Result: Sendable {
        let label: String, target: String, error: String?
    }

    let list = Mutex<[Result]>([])
    let notes = Mutex<[String]>([])
    /// The drain dialog's preview, when gwlbd answered.
    let preview = Mutex<DrainPreview?>(nil)
    /// A drop capture runs (one at a time).
    let capturing = Atomic<Bool>(false)
    let stopCapture = Atomic<Bool>(false)

    func take() -> [Result] { list.withLock { list in defer { list = [] }; return list } }
    func note(_ text: String) { notes.withLock { $0.append(text) } }
    func takeNotes() -> [String] { notes.withLock { notes in defer { notes = [] }; return notes } }
}
