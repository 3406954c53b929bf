import Foundation
import Lab
import Testing
import TestTraits

/// The seed's whole inspection path through AWS's own APIs: the unmodified aws CLI makes the load
/// balancer (elbv2) and the endpoint service, the endpoint and the route tables (ec2) on gwlbd's
/// signed TCP API; gwlbd turns the route tables into the lab router's policy routing.
@Suite(.serialized, .blocking) struct EC2RoutingEndToEndTests {
    static let port = 9461
    /// An echo on IPv4 and IPv6 (one connection at a time: the round trips are sequential).
    static let dualStackEcho = """
        import socket
        server = socket.create_server(('::', \(port)), family=socket.AF_INET6, dualstack_ipv6=True)
        while True:
            connection, _ = server.accept()
            data = connection.recv(100)
            if data: connection.sendall(data)
            connection.close()
        """

    /// One TCP round trip from the client to the server's echo (IPv4 or IPv6); the client's port.
    static func roundTrip(_ lab: LabFixture, ipv6: Bool = false) throws -> Int {
        let address = ipv6 ? Lab.serverAddress6 : Lab.serverAddress
        let result = try lab.python(lab.lab.client, """
            import socket
            s = socket.create_connection(('\(address)', \(port)), timeout=5)
            s.sendall(b'inspected?'); data = s.recv(100); print(s.getsockname()[1] if data == b'inspected?' else -1)
            """)
        guard result.status == 0, let port = Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)), port > 0 else {
            throw LabFixture.Failure("no echo from the server: \(result.output)")
        }
        return port
    }

    /// gwlbd's policy rules and routes (protocol 245) in the router, as `ip` prints them.
    static func kernelRouting(_ lab: LabFixture) throws -> String {
        var text = ""
        for family in ["-4", "-6"] {
            // `ip rule show` has no protocol filter: the lines say it.
            text += try lab.run(lab.lab.router, ["ip", family, "rule", "show"]).output.split(separator: "\n")
                .filter { $0.hasSuffix("proto 245") }.map { $0 + "\n" }.joined()
            text += try lab.run(lab.lab.router, ["ip", "-d", family, "route", "show", "table", "all", "proto", "245"]).output
        }
        return text
    }

    @Test func theSeedsWalkthroughWithTheAWSCLI() throws {
        let api = try APIDaemonFixture(appliances: 1, routing: .throughAPI)
        defer { api.tearDown() }
        let lab = api.lab
        guard (try? LabFixture.execute(["aws", "--version"]).status) == 0 else {
            throw LabFixture.Failure("this test needs the aws CLI: pip install awscli (as .ci/run does)")
        }
        let credentials = "/tmp/\(lab.lab.prefix)-credentials"
        defer { try? FileManager.default.removeItem(atPath: credentials) }
        try "[default]\naws_access_key_id = AKIDEC2\naws_secret_access_key = ec2/secret\n".write(toFile: credentials, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: credentials)
        let listen = ["--api-listen", "127.0.0.1:8080", "--api-credentials", credentials]
        try api.start(extra: listen)
        try lab.serve(lab.lab.server, ["python3", "-c", Self.dualStackEcho], port: Self.port)

        func aws(_ service: String, _ arguments: [String]) throws -> String {
            let result = try lab.run(lab.lab.router, ["env", "AWS_ACCESS_KEY_ID=AKIDEC2", "AWS_SECRET_ACCESS_KEY=ec2/secret", "AWS_CONFIG_FILE=/dev/null",
                                                      "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "aws", service]
                                     + arguments + ["--endpoint-url", "http://127.0.0.1:8080", "--region", "us-east-1", "--output", "text"])
            guard result.status == 0 else { throw LabFixture.Failure("aws \(service) \(arguments.joined(separator: " ")): \(result.output)") }
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        // Before any route table: the router routes the client straight to the server, uninspected.
        let direct = try Self.roundTrip(lab)
        #expect(try lab.appliancesCarrying(tcpPorts: [direct], of: 1...1).isEmpty)

        // The load balancer half (elbv2).
        let lb = try aws("elbv2", ["create-load-balancer", "--name", "seed-gwlb", "--type", "gateway", "--subnets", "subnet-0provider",
                                   "--query", "LoadBalancers[0].LoadBalancerArn"])
        let tg = try aws("elbv2", ["create-target-group", "--name", "seed-appliances", "--protocol", "GENEVE", "--port", "6081",
                                   "--vpc-id", "vpc-0provider", "--health-check-interval-seconds", "5", "--healthy-threshold-count", "2",
                                   "--query", "TargetGroups[0].TargetGroupArn"])
        _ = try aws("elbv2", ["register-targets", "--target-group-arn", tg, "--targets", "Id=\(Lab.applianceAddress(1))"])
        _ = try aws("elbv2", ["create-listener", "--load-balancer-arn", lb, "--default-actions", "Type=forward,TargetGroupArn=\(tg)"])

        // The endpoint half (ec2): service, endpoint (its TUN device named by a tag), route tables.
        let service = try aws("ec2", ["create-vpc-endpoint-service-configuration", "--gateway-load-balancer-arns", lb, "--no-acceptance-required",
                                      "--query", "ServiceConfiguration.ServiceName"])
        let endpoint = try aws("ec2", ["create-vpc-endpoint", "--vpc-endpoint-type", "GatewayLoadBalancer", "--service-name", service,
                                       "--vpc-id", Lab.vpcID, "--subnet-ids", Lab.endpointSubnetID,
                                       "--tag-specifications", "ResourceType=vpc-endpoint,Tags=[{Key=gwlb:interface,Value=\(Lab.endpointInterface)}]",
                                       "--query", "VpcEndpoint.VpcEndpointId"])
        #expect(endpoint.hasPrefix("vpce-"))
        // Ingress routing: the internet gateway's edge association sends the app subnet to the endpoint.
        let ingress = try aws("ec2", ["create-route-table", "--vpc-id", Lab.vpcID, "--query", "RouteTable.RouteTableId"])
        _ = try aws("ec2", ["associate-route-table", "--route-table-id", ingress, "--gateway-id", Lab.internetGatewayID])
        let application = try aws("ec2", ["create-route-table", "--vpc-id", Lab.vpcID, "--query", "RouteTable.RouteTableId"])
        _ = try aws("ec2", ["associate-route-table", "--route-table-id", application, "--subnet-id", Lab.applicationSubnetID])
        let routes: [(table: String, flag: String, destination: String)] = [
            (ingress, "--destination-cidr-block", Lab.applicationSubnet), (ingress, "--destination-ipv6-cidr-block", Lab.applicationSubnet6),
            (application, "--destination-cidr-block", "0.0.0.0/0"), (application, "--destination-ipv6-cidr-block", "::/0"),
        ]
        for route in routes {
            _ = try aws("ec2", ["create-route", "--route-table-id", route.table, route.flag, route.destination, "--vpc-endpoint-id", endpoint])
        }
        let shown = try aws("ec2", ["describe-route-tables", "--route-table-ids", ingress, "--query", "RouteTables[0].Routes[].[DestinationCidrBlock || DestinationIpv6CidrBlock, GatewayId, State]"])
        #expect(shown == "\(Lab.applicationSubnet)\t\(endpoint)\tactive\n\(Lab.applicationSubnet6)\t\(endpoint)\tactive", "\(shown)")
        let kernel = try Self.kernelRouting(lab)
        for expected in ["iif uplink lookup", "iif app lookup", "198.18.20.0/24 dev gwlbe0", "fd00:20::/64 dev gwlbe0", "default dev gwlbe0"] {
            #expect(kernel.contains(expected), "\(expected) in:\n\(kernel)")
        }

        // Traffic now goes client → appliance → server and back, both families.
        #expect(APIDaemonFixture.eventually(30) { (try? api.health(tg)[Lab.applianceAddress(1)]?.state) == "healthy" })
        let inspected = [try Self.roundTrip(lab), try Self.roundTrip(lab, ipv6: true)]
        #expect(try lab.appliancesCarrying(tcpPorts: Set(inspected), of: 1...1) == [inspected[0]: [1], inspected[1]: [1]])

        // Deleting the routes takes the appliance out of the path: traffic is routed directly again.
        for route in routes {
            _ = try aws("ec2", ["delete-route", "--route-table-id", route.table, route.flag, route.destination])
        }
        #expect(!(try Self.kernelRouting(lab)).contains("dev gwlbe0"))
        let bypassed = try Self.roundTrip(lab)
        #expect(try lab.appliancesCarrying(tcpPorts: [bypassed], of: 1...1).isEmpty)

        // Routes made again, then deleted by hand under a running gwlbd: traffic bypasses the
        // appliance until gwlbd restarts, which restores them from its store.
        for route in routes {
            _ = try aws("ec2", ["create-route", "--route-table-id", route.table, route.flag, route.destination, "--vpc-endpoint-id", endpoint])
        }
        let before = try Self.kernelRouting(lab)
        for family in ["-4", "-6"] {
            _ = try lab.run(lab.lab.router, ["ip", family, "rule", "flush", "protocol", "245"])
            _ = try lab.run(lab.lab.router, ["ip", family, "route", "flush", "table", "all", "proto", "245"])
        }
        let flushed = try Self.kernelRouting(lab)
        #expect(flushed.isEmpty, "\(flushed)")
        let unrouted = try Self.roundTrip(lab)
        #expect(try lab.appliancesCarrying(tcpPorts: [unrouted], of: 1...1).isEmpty)
        api.stop()
        try api.start(extra: listen)
        #expect(try Self.kernelRouting(lab) == before)
        let restored = try Self.roundTrip(lab)
        #expect(try lab.appliancesCarrying(tcpPorts: [restored], of: 1...1) == [restored: [1]])

        // The audit trail names the EC2 calls as CloudTrail does.
        let created = try api.auditEvents().filter { $0["eventName"] as? String == "CreateVpcEndpoint" }
        #expect(created.count == 1 && created.first?["eventSource"] as? String == "ec2.amazonaws.com", "\(created)")
        #expect(created.first?["apiVersion"] as? String == "2016-11-15")

        // Uninstalling: `gwlbd --cleanup` removes every rule and route gwlbd made.
        api.stop()
        let cleanup = try lab.run(lab.lab.router, [LabFixture.binary("gwlbd"), "--cleanup", "--state-dir", api.state])
        #expect(cleanup.status == 0 && cleanup.output.contains("protocol 245"), "\(cleanup.output)")
        let left = try Self.kernelRouting(lab)
        #expect(left.isEmpty, "\(left)")
    }

    /// A route and a rule removed by hand are reported by `gwlb ec2 describe-route-tables` and put
    /// back by `gwlb ec2 repair-route-tables`.
    @Test func driftIsReportedAndRepaired() throws {
        let api = try APIDaemonFixture(appliances: 1, routing: .throughAPI)
        defer { api.tearDown() }
        let lab = api.lab
        try api.start()
        _ = try api.gettingStarted(targets: [1])
        func ec2(_ arguments: [String]) throws -> [String: Any] { try api.json(["ec2"] + arguments) }
        let endpoint = try APIDaemonFixture.first(try ec2(["describe-vpc-endpoints"]), "VpcEndpoints", "VpcEndpointId")
        let table = try #require(try ec2(["create-route-table", "--vpc-id", Lab.vpcID])["RouteTable"] as? [String: Any])["RouteTableId"] as! String
        _ = try ec2(["associate-route-table", "--route-table-id", table, "--subnet-id", Lab.applicationSubnetID])
        _ = try ec2(["create-route", "--route-table-id", table, "--destination-cidr-block", "0.0.0.0/0", "--vpc-endpoint-id", endpoint])
        func described() throws -> [String: Any] {
            try #require((try ec2(["describe-route-tables", "--route-table-ids", table])["RouteTables"] as? [[String: Any]])?.first)
        }
        #expect(try described()["Routes"].map { "\($0)" }?.contains("GwlbDrift") == false)

        let rule = try #require(try Self.kernelRouting(lab).split(separator: "\n").first { $0.contains("iif app") })
        let words = rule.split(separator: " ").map(String.init)
        let tableNumber = try #require(words.firstIndex(of: "lookup").map { words[$0 + 1] })
        _ = try lab.run(lab.lab.router, ["ip", "-4", "route", "del", "default", "table", tableNumber])
        _ = try lab.run(lab.lab.router, ["ip", "-4", "rule", "del", "priority", tableNumber])
        let drifted = try described()
        let route = try #require((drifted["Routes"] as? [[String: Any]])?.first)
        #expect((route["GwlbDrift"] as? String)?.contains("route missing: -4 0.0.0.0/0 table \(tableNumber) dev gwlbe0") == true, "\(route)")
        let association = try #require((drifted["Associations"] as? [[String: Any]])?.first?["AssociationState"] as? [String: Any])
        #expect(association["State"] as? String == "failed")
        #expect((association["StatusMessage"] as? String)?.contains("rule missing: -4 iif app lookup \(tableNumber)") == true, "\(association)")

        // The same drift in gwlbd's statistics (what the console shows) and its metrics, which
        // read Linux again at most every 5 seconds.
        #expect(APIDaemonFixture.eventually(8) { (try? api.observe("/v1/stats")["routingDrift"] as? [String])?.count == 2 })
        #expect(APIDaemonFixture.eventually(3) {
            let metrics = (try? lab.run(lab.lab.router, ["curl", "-s", "--unix-socket", api.socket, "http://localhost/metrics"]).output) ?? ""
            return metrics.split(separator: "\n").contains { $0.hasPrefix("gwlb_route_table_drift{") && $0.hasSuffix(" 2.0") }
        })

        let repaired = try ec2(["repair-route-tables"])
        #expect((repaired["Repaired"] as? [String])?.count == 2, "\(repaired)")
        #expect((repaired["Remaining"] as? [String]) == [], "\(repaired)")
        #expect(try described()["Routes"].map { "\($0)" }?.contains("GwlbDrift") == false)
        let kernel = try Self.kernelRouting(lab)
        #expect(kernel.contains("iif app lookup \(tableNumber)") && kernel.contains("default dev gwlbe0 table \(tableNumber)"), "\(kernel)")
        #expect(APIDaemonFixture.eventually(8) { (try? api.observe("/v1/stats")["routingDrift"] as? [String]) == [] })

        // The subnet moves to another table in one call: its rule now looks up the new table.
        let other = try #require(try ec2(["create-route-table", "--vpc-id", Lab.vpcID])["RouteTable"] as? [String: Any])["RouteTableId"] as! String
        let associationId = try #require((try described()["Associations"] as? [[String: Any]])?.first?["RouteTableAssociationId"] as? String)
        let replaced = try ec2(["replace-route-table-association", "--association-id", associationId, "--route-table-id", other])
        #expect((replaced["NewAssociationId"] as? String)?.hasPrefix("rtbassoc-") == true, "\(replaced)")
        let moved = try Self.kernelRouting(lab)
        #expect(!moved.contains("iif app lookup \(tableNumber) ") && moved.contains("iif app lookup \(Int(tableNumber)! + 1)"), "\(moved)")
    }
}
