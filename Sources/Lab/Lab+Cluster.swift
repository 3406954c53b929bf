import Foundation

/// `gwlb lab up --nodes N`: the lab with N gwlbd nodes behind the router, as routers spread flows
/// over a cluster (Maglev's and Katran's deployment, AWS GWLB's nodes behind one name).
///
///   client ── router [uplink, app: multipath (L4 hash) over n1…nN] ── server
///               │ n1 198.18.31.1     │ n2 198.18.32.1 …
///   <prefix>-n1: edge 198.18.31.2, gwlbe0 (TUN), geneve 198.18.1.1 ─┐
///   <prefix>-n2: edge 198.18.32.2, gwlbe0 (TUN), geneve 198.18.1.2 ─┼─ br0 (router) ── app1 .11, app2 .12 …
///
/// Each node sends what arrives on `edge` into its endpoint, and what comes back from inspection
/// back to the router, which delivers it (arriving from a node, the main table). Both directions of
/// a flow are spread independently: a flow's forward packets may cross one node and its replies
/// another. Appliances are shared; each node's GENEVE address is its own.
extension Lab {
    public func node(_ number: Int) -> String { "\(prefix)-n\(number)" }
    public static func nodeAddress(_ number: Int) -> String { "198.18.1.\(number)" }
    /// The router's link to node `number`, and the node's address on it.
    public static func nodeLink(_ number: Int) -> (router: String, node: String) { ("198.18.\(30 + number).1", "198.18.\(30 + number).2") }
    /// Where gwlbd node `number` keeps its state and socket.
    public func nodeStateDirectory(_ number: Int) -> String { "\(stateDirectory)/n\(number)" }
    public func nodeSocket(_ number: Int) -> String { "\(stateDirectory)/n\(number).sock" }

    /// Builds the cluster's topology (after removing any leftover of the same prefix) and starts
    /// the appliances; the nodes' gwlbd are started by the caller (`gwlb lab up --nodes` or a test).
    public func upCluster(executable: String, rules: [String] = [], applianceOptions: [Int: [String]] = [:]) throws {
        if let problem = Self.problem(withPrefix: prefix) { throw Shell.Failure(description: problem) }
        guard geteuid() == 0 else { throw Shell.Failure(description: "the lab needs root: sudo gwlb lab up") }
        guard (1...9).contains(nodeCount) else { throw Shell.Failure(description: "a cluster lab has 1 to 9 nodes (got \(nodeCount))") }
        down()
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        for namespace in namespaces {
            try ip(["netns", "add", namespace])
            try ip(["-n", namespace, "link", "set", "lo", "up"])
        }
        // fib_multipath_hash_policy 1: next hops by the 5-tuple (L4), as ECMP routers spread flows.
        try sysctl(router, ["net/ipv4/ip_forward": "1", "net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0",
                            "net/ipv4/fib_multipath_hash_policy": "1"])
        try link("uplink", in: router, peer: "eth0", in: client)
        try ip(["-n", router, "address", "add", "198.18.10.1/24", "dev", "uplink"])
        try ip(["-n", client, "address", "add", "\(Self.clientAddress)/24", "dev", "eth0"])
        try ip(["-n", client, "route", "add", "default", "via", "198.18.10.1"])
        try link("app", in: router, peer: "eth0", in: server)
        try ip(["-n", router, "address", "add", "198.18.20.1/24", "dev", "app"])
        try ip(["-n", server, "address", "add", "\(Self.serverAddress)/24", "dev", "eth0"])
        try ip(["-n", server, "route", "add", "default", "via", "198.18.20.1"])
        // The appliances' network: nodes and appliances on one bridge; the router's address on it
        // is for reaching the appliances' health ports only.
        try addAppliances(routerAddress: "198.18.1.254")
        var nextHops: [String] = []
        for number in 1...nodeCount {
            try upNode(number)
            nextHops += ["nexthop", "via", Self.nodeLink(number).node, "dev", "n\(number)"]
        }
        // Into inspection: from the client's side and from the server's, over every node.
        try ip(["-n", router, "route", "add", "default", "table", "100"] + nextHops)
        try ip(["-n", router, "rule", "add", "iif", "uplink", "lookup", "100", "priority", "100"])
        try ip(["-n", router, "rule", "add", "iif", "app", "lookup", "100", "priority", "101"])
        for number in 1...applianceCount {
            try startAppliance(number, executable: executable, rules: rules, options: applianceOptions[number] ?? [])
        }
        try waitForAppliances()
    }

    private func upNode(_ number: Int) throws {
        let namespace = node(number)
        try sysctl(namespace, ["net/ipv4/ip_forward": "1", "net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0"])
        try link("n\(number)", in: router, peer: "edge", in: namespace)
        try ip(["-n", router, "address", "add", "\(Self.nodeLink(number).router)/24", "dev", "n\(number)"])
        try ip(["-n", namespace, "address", "add", "\(Self.nodeLink(number).node)/24", "dev", "edge"])
        try ip(["-n", namespace, "route", "add", "default", "via", Self.nodeLink(number).router])
        try link("node\(number)", in: router, peer: "geneve", in: namespace)
        try ip(["-n", router, "link", "set", "node\(number)", "master", "br0"])
        try ip(["-n", namespace, "address", "add", "\(Self.nodeAddress(number))/24", "dev", "geneve"])
        // The node's endpoint, made before its gwlbd as in the one-node lab.
        try ip(["-n", namespace, "tuntap", "add", "dev", Self.endpointInterface, "mode", "tun", "multi_queue"])
        try sysctl(namespace, ["net/ipv4/conf/\(Self.endpointInterface)/rp_filter": "0", "net/ipv6/conf/\(Self.endpointInterface)/addr_gen_mode": "1"])
        try ip(["-n", namespace, "link", "set", Self.endpointInterface, "mtu", Self.mtu, "up"])
        try ip(["-n", namespace, "rule", "add", "iif", "edge", "lookup", "100", "priority", "100"])
        try ip(["-n", namespace, "route", "add", "default", "dev", Self.endpointInterface, "table", "100"])
    }

    /// gwlbd node `number`'s command line (run it in `node(number)`), sharing `database`.
    /// The command that runs node `number`'s gwlbd (`gwlbd`: the program, with its subcommand if
    /// any) in its namespace; `detached` (setsid) keeps it out of the terminal's process group.
    public func nodeCommand(_ number: Int, gwlbd: [String], database: String, detached: Bool = false) -> [String] {
        ["ip", "netns", "exec", node(number)] + (detached ? ["setsid"] : []) + gwlbd + ["--state-dir", nodeStateDirectory(number), "--socket", nodeSocket(number),
         "--geneve-address", Self.nodeAddress(number), "--shared-state", "none", "--database", database, "--node-name", "n\(number)"]
    }
}
