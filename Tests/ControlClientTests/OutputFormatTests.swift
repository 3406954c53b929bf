import Testing
@testable import AWSCommandLine
@testable import ControlClient
import ControlContract

@Suite struct OutputFormatTests {
    var health: JSONValue { Self.health }
    static let health = JSONValue.object([("TargetHealthDescriptions", .array([
        .object([("Target", .object([("Id", .string("198.18.1.11")), ("Port", .number(6081))])), ("HealthCheckPort", .string("80")),
                 ("TargetHealth", .object([("State", .string("healthy"))]))]),
        .object([("Target", .object([("Id", .string("198.18.1.12")), ("Port", .number(6081))])), ("HealthCheckPort", .string("80")),
                 ("TargetHealth", .object([("State", .string("initial")), ("Reason", .string("Elb.InitialHealthChecking"))]))]),
    ]))])

    @Test func jsonIsIndentedByFourLikeTheAwsCLIs() {
        let value = JSONValue.object([("Attributes", .array([.object([("Key", .string("a\"b")), ("Value", .string("1"))])])), ("Empty", .array([])),
                                      ("Enabled", .bool(true))])
        #expect(OutputFormat.render(value, as: .json, title: "X") == """
            {
                "Attributes": [
                    {
                        "Key": "a\\"b",
                        "Value": "1"
                    }
                ],
                "Empty": [],
                "Enabled": true
            }

            """)
        #expect(OutputFormat.render(.object([]), as: .json, title: "RegisterTargets") == "")
    }

    @Test func textFollowsAwsCLIsTextFormatter() {
        #expect(OutputFormat.text(health) == """
            TARGETHEALTHDESCRIPTIONS\t80
            TARGET\t198.18.1.11\t6081
            TARGETHEALTH\thealthy
            TARGETHEALTHDESCRIPTIONS\t80
            TARGET\t198.18.1.12\t6081
            TARGETHEALTH\tElb.InitialHealthChecking\tinitial

            """)
        let names = JSONValue.object([("LoadBalancerArns", .array([.string("arn:1"), .string("arn:2")]))])
        #expect(OutputFormat.text(names) == "LOADBALANCERARNS\tarn:1\nLOADBALANCERARNS\tarn:2\n")
    }

    @Test func tableNestsSectionsInBars() {
        let table = TableRenderer.render(health, title: "DescribeTargetHealth", width: 200)
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.count == lines[0].count }, "every line has the same width:\n\(table)")
        #expect(lines[1].hasPrefix("|") && lines[1].contains("DescribeTargetHealth"))
        #expect(lines.contains { $0.hasPrefix("||") && $0.contains("TargetHealthDescriptions") })
        #expect(lines.contains { $0.hasPrefix("|||") && $0.contains("198.18.1.12") && $0.contains("6081") })
        #expect(lines.contains { $0.contains("Elb.InitialHealthChecking") })
        // Each list element with nested values is a section of its own, as in awscli.
        #expect(lines.filter { $0.contains("TargetHealthDescriptions") }.count == 2)
    }

    /// Wider than the terminal: rows turn into key | value lines.
    @Test func wideTablesTurnVertical() {
        let wide = JSONValue.object([("Listeners", .array([.object([("ListenerArn", .string(String(repeating: "a", count: 50))),
                                                                     ("LoadBalancerArn", .string(String(repeating: "b", count: 50)))])]))])
        let lines = TableRenderer.render(wide, title: "DescribeListeners", width: 80).split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.count == lines[0].count }, "\(lines.joined(separator: "\n"))")
        #expect(lines.contains { $0.contains("ListenerArn") && $0.contains(String(repeating: "a", count: 50)) })
        #expect(lines.contains { $0.contains("LoadBalancerArn") && $0.contains(String(repeating: "b", count: 50)) })
        let narrow = TableRenderer.render(wide, title: "DescribeListeners", width: 300).split(separator: "\n").map(String.init)
        #expect(narrow.contains { $0.contains("ListenerArn") && $0.contains("LoadBalancerArn") }, "fits: one header row")
    }
}

@Suite struct JMESPathTests {
    let health = OutputFormatTests.health

    @Test func fieldsIndexesAndProjections() throws {
        #expect(try JMESPath.evaluate("TargetHealthDescriptions[0].Target.Id", on: health) == .string("198.18.1.11"))
        #expect(try JMESPath.evaluate("TargetHealthDescriptions[-1].TargetHealth.Reason", on: health) == .string("Elb.InitialHealthChecking"))
        #expect(try JMESPath.evaluate("TargetHealthDescriptions[].TargetHealth.State", on: health) == .array([.string("healthy"), .string("initial")]))
        #expect(try JMESPath.evaluate("TargetHealthDescriptions[*].TargetHealth.Reason", on: health) == .array([.string("Elb.InitialHealthChecking")]))
        #expect(try JMESPath.evaluate("TargetHealthDescriptions[5]", on: health) == .null)
        #expect(OutputFormat.render(try JMESPath.evaluate("TargetHealthDescriptions[].Target.Id", on: health), as: .text, title: "")
                == "198.18.1.11\t198.18.1.12\n")
        #expect(OutputFormat.render(.string("arn:x"), as: .text, title: "") == "arn:x\n")
        #expect(try JMESPath.evaluate("length(TargetHealthDescriptions)", on: health) == .number(2))
        #expect(try JMESPath.evaluate("a[?x==`1`]", on: health) == .null)
        #expect(throws: JMESPath.Invalid.self) { try JMESPath.evaluate("TargetHealthDescriptions[", on: health) }
    }
}
