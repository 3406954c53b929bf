import ControlContract
import Foundation
import Testing
@testable import AWSCommandLine
@testable import ControlClient

@Suite struct ELBArgumentsTests {
    func parse(_ verb: String, _ arguments: [String]) throws -> ELBArguments {
        try ELBArguments(arguments, for: #require(ELBOperation.named(verb)))
    }

    @Test func verbsAndFlagsAreTheAwsCLIs() throws {
        #expect(ELBOperation.kebab("TargetGroupArn") == "target-group-arn")
        #expect(ELBOperation.kebab("HealthCheckIntervalSeconds") == "health-check-interval-seconds")
        #expect(ELBOperation.kebab("IpAddressType") == "ip-address-type")
        #expect(ELBOperation.kebab("DescribeTargetHealth") == "describe-target-health")
        #expect(ELBOperation.all.count == 26)
        #expect(ELBOperation.named("describe-load-balancer-attributes")?.action == "DescribeLoadBalancerAttributes")
    }

    /// Global options before the verb (and `elbv2`) move after it, as the aws CLI reads them anywhere.
    @Test func globalOptionsMayComeFirst() {
        #expect(ELBCommandLine.movingGlobalOptions(["--socket", "/s", "--output", "text", "elbv2", "describe-load-balancers", "--names", "a"])
                == ["describe-load-balancers", "--socket", "/s", "--output", "text", "--names", "a"])
        #expect(ELBCommandLine.movingGlobalOptions(["--query", "x[0]", "--no-paginate", "describe-target-groups"])
                == ["describe-target-groups", "--query", "x[0]", "--no-paginate"])
        #expect(ELBCommandLine.movingGlobalOptions(["--socket", "/s", "flows", "--port", "80"]) == ["flows", "--socket", "/s", "--port", "80"])
        #expect(ELBCommandLine.movingGlobalOptions(["describe-load-balancers", "--socket", "/s"]) == ["describe-load-balancers", "--socket", "/s"])
        #expect(ELBCommandLine.movingGlobalOptions(["--socket"]) == ["--socket"], "a flag without its value is left for the parser to refuse")
    }

    @Test func shorthandListsAndStructures() throws {
        let targets = try parse("register-targets", ["--target-group-arn", "arn:x", "--targets", "Id=198.18.1.11,Port=6081", "Id=198.18.1.12"])
        #expect(targets.parameters.map { "\($0.0)=\($0.1)" } == [
            "TargetGroupArn=arn:x", "Targets.member.1.Id=198.18.1.11", "Targets.member.1.Port=6081", "Targets.member.2.Id=198.18.1.12",
        ])
        let listener = try parse("create-listener", ["--load-balancer-arn", "arn:lb", "--default-actions", "Type=forward,TargetGroupArn=arn:tg"])
        #expect(listener.parameters.map { "\($0.0)=\($0.1)" } == [
            "LoadBalancerArn=arn:lb", "DefaultActions.member.1.Type=forward", "DefaultActions.member.1.TargetGroupArn=arn:tg",
        ])
        let balancer = try parse("create-load-balancer", ["--name", "my-load-balancer", "--type", "gateway", "--subnets", "a", "b", "--output", "table"])
        #expect(balancer.parameters.map { "\($0.0)=\($0.1)" } == ["Name=my-load-balancer", "Type=gateway", "Subnets.member.1=a", "Subnets.member.2=b"])
        #expect(balancer.output == .table)
    }

    @Test func jsonFileAndBooleans() throws {
        let file = NSTemporaryDirectory() + "gwlb-targets-\(UUID().uuidString).json"
        try Data(#"[{"Id": "198.18.1.11", "Port": 6081}]"#.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let targets = try parse("deregister-targets", ["--target-group-arn", "arn:x", "--targets", "file://\(file)"])
        #expect(targets.parameters.map { "\($0.0)=\($0.1)" } == ["TargetGroupArn=arn:x", "Targets.member.1.Id=198.18.1.11", "Targets.member.1.Port=6081"])
        let group = try parse("modify-target-group", ["--target-group-arn", "arn:x", "--no-health-check-enabled", "--matcher", "HttpCode=200-299",
                                                      "--health-check-interval-seconds", "5"])
        #expect(group.parameters.map { "\($0.0)=\($0.1)" } == [
            "TargetGroupArn=arn:x", "HealthCheckEnabled=false", "Matcher.HttpCode=200-299", "HealthCheckIntervalSeconds=5",
        ])
        let attributes = try parse("modify-target-group-attributes", ["--target-group-arn", "arn:x", "--attributes",
                                                                      #"[{"Key":"deregistration_delay.timeout_seconds","Value":"0"}]"#])
        #expect(attributes.parameters.map { "\($0.0)=\($0.1)" } == [
            "TargetGroupArn=arn:x", "Attributes.member.1.Key=deregistration_delay.timeout_seconds", "Attributes.member.1.Value=0",
        ])
    }

    @Test func usageErrorsSayWhatIsWrong() throws {
        #expect(throws: ELBArguments.Invalid(description: "the following arguments are required: --target-group-arn, --targets")) {
            try parse("register-targets", [])
        }
        #expect(throws: ELBArguments.Invalid(description: "Unknown options: --colour")) {
            try parse("describe-load-balancers", ["--colour", "red"])
        }
        #expect(throws: ELBArguments.Invalid(description: "invalid literal for int() with base 10: 'ten' (--port)")) {
            try parse("create-target-group", ["--name", "x", "--port", "ten"])
        }
        #expect(throws: ELBArguments.Invalid(description: "Error parsing parameter '--targets': expected key=value, got 'oops'")) {
            try parse("register-targets", ["--target-group-arn", "a", "--targets", "oops"])
        }
        #expect(throws: ELBArguments.Invalid(description: "--output must be one of: json, table, text")) {
            try parse("describe-tags", ["--resource-arns", "a", "--output", "yaml"])
        }
        #expect(throws: ELBArguments.Invalid(description: "--name is given twice")) {
            try parse("create-load-balancer", ["--name", "a", "--name", "b"])
        }
    }
}
