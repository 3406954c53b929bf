import Testing
@testable import ControlClient

@Suite struct OutputFormatTests {
    let health = JSONValue.object([("TargetHealthDescriptions", .array([
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
        let table = OutputFormat.render(health, as: .table, title: "DescribeTargetHealth")
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.count == lines[0].count }, "every line has the same width:\n\(table)")
        #expect(lines[1].hasPrefix("|") && lines[1].contains("DescribeTargetHealth"))
        #expect(lines.contains { $0.hasPrefix("||") && $0.contains("TargetHealthDescriptions") })
        #expect(lines.contains { $0.hasPrefix("|||") && $0.contains("198.18.1.12") && $0.contains("6081") })
        #expect(lines.contains { $0.contains("Elb.InitialHealthChecking") })
    }
}
