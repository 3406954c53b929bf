import Testing
@testable import AWSCommandLine
@testable import ControlClient
import ControlContract

/// The aws CLI's shorthand for EC2's structures, and how gwlb serializes them (`Name.N.Field`).
@Suite struct ShorthandTests {
    @Test func listsContinueAndNest() throws {
        let filter = try Shorthand.parse("Name=association.subnet-id,Values=subnet-1,subnet-2")
        #expect(filter == ["Name": "association.subnet-id", "Values": ["subnet-1", "subnet-2"]])
        let tags = try Shorthand.parse("ResourceType=vpc-endpoint,Tags=[{Key=gwlb:interface,Value=gwlbe0},{Key=team,Value=a=b}]")
        #expect(tags["Tags"] == [["Key": "gwlb:interface", "Value": "gwlbe0"], ["Key": "team", "Value": "a=b"]])
        #expect(try Shorthand.parse("Values=[a,b]")["Values"] == ["a", "b"])
        #expect(try Shorthand.parse("Inner={K=v}")["Inner"] == ["K": "v"])
    }

    @Test func malformedShorthandIsAnErrorNotACrash() {
        for text in ["=x", ",", "Tags=[{Key=a", "Tags=[a", "Inner={K=v", "a,b", "Tags=[{,}]"] {
            #expect(throws: Shorthand.Invalid.self, "\(text)") { try Shorthand.parse(text) }
        }
    }

    @Test func ec2SerializesListsInTheSingular() throws {
        let filters = ELBOperation.Parameter(name: "Filters", kind: .structures, required: false)
        let fields = try ELBArguments.encodeEC2List(filters, values: ["Name=vpc-id,Values=vpc-1", "Name=tag:team,Values=a,b"])
        #expect(fields.map { "\($0.0)=\($0.1)" } == ["Filter.1.Name=vpc-id", "Filter.1.Value.1=vpc-1",
                                                     "Filter.2.Name=tag:team", "Filter.2.Value.1=a", "Filter.2.Value.2=b"])
        let subnets = ELBOperation.Parameter(name: "SubnetIds", kind: .strings, required: false)
        #expect(try ELBArguments.encodeEC2List(subnets, values: ["subnet-1", "subnet-2"]).map(\.0) == ["SubnetId.1", "SubnetId.2"])
    }
}
