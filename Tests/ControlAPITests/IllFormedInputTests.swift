import Catalog
import Foundation
import FoundationXML
import Testing
@testable import ControlAPI

/// Text that XML 1.0 cannot carry (controls, U+FFFE/U+FFFF) is refused where it comes in, with
/// AWS's ValidationError, so every later Describe stays readable; and the writer never produces
/// ill-formed XML even from what an older store may hold.
@Suite struct IllFormedInputTests {
    @Test func controlCharactersAreRefusedAtInput() async throws {
        let api = try APIFixture()
        let lb = try await api.call("CreateLoadBalancer", [("Name", "lb"), ("Type", "gateway"), ("Subnets.member.1", "subnet-1")])
        let lbArn = try #require(try APIFixture.values(lb.xml, "//LoadBalancerArn").first)
        // As a new user would type it: gwlb add-tags … Tags Key=team,Value=$'a\x01b'.
        for (key, value) in [("team", "a\u{1}b"), ("te\u{0}am", "x"), ("team", "a\u{FFFE}"), ("team", "line\nbreak")] {
            let tagged = try await api.call("AddTags", [("ResourceArns.member.1", lbArn), ("Tags.member.1.Key", key), ("Tags.member.1.Value", value)])
            #expect(try tagged.status == 400 && (APIFixture.values(tagged.xml, "//Error/Code")) == ["ValidationError"], "\(key.debugDescription)=\(value.debugDescription)")
        }
        for subnet in ["sub\u{1}net", "a b", String(repeating: "s", count: 256)] {
            let created = try await api.call("CreateLoadBalancer", [("Name", "lb2"), ("Type", "gateway"), ("Subnets.member.1", subnet)])
            #expect(try created.status == 400 && (APIFixture.values(created.xml, "//Error/Code")) == ["ValidationError"], "\(subnet.prefix(10).debugDescription)")
        }
        let many = (1...33).map { ("Subnets.member.\($0)", "subnet-\($0)") }
        let tooMany = try await api.call("CreateLoadBalancer", [("Name", "lb3"), ("Type", "gateway")] + many)
        #expect(try tooMany.status == 400 && (APIFixture.values(tooMany.xml, "//Error/Message")).first?.contains("at most 32 subnets") == true)
        let group = try await api.call("CreateTargetGroup", [("Name", "tg"), ("Protocol", "GENEVE"), ("Port", "6081"), ("VpcId", "vpc\u{7}")])
        #expect(try group.status == 400 && (APIFixture.values(group.xml, "//Error/Code")) == ["ValidationError"])
        // Every Describe still parses, and nothing refused was stored.
        let tags = try await api.call("DescribeTags", [("ResourceArns.member.1", lbArn)])
        #expect(try tags.status == 200 && (APIFixture.values(tags.xml, "//Tags/member/Key")).isEmpty)
        #expect((try await api.call("DescribeLoadBalancers")).status == 200)
    }

    /// AWS's letters, numbers, spaces and _ . : / = + - @, counted in characters: 128 of a
    /// four-byte letter is a valid key, 129 is not.
    @Test func tagRulesAreAWSs() async throws {
        let api = try APIFixture()
        let lb = try await api.call("CreateLoadBalancer", [("Name", "lb"), ("Type", "gateway")])
        let lbArn = try #require(try APIFixture.values(lb.xml, "//LoadBalancerArn").first)
        let wide = String(repeating: "\u{2070E}", count: 128)
        for (key, value, status) in [("Cost Center", "net-ops@example.com:42/a=b+c_d.e", 200), (wide, "", 200), (wide + "x", "", 400),
                                     ("emoji", "\u{1F600}", 400), ("k", String(repeating: "v", count: 257), 400)] {
            let tagged = try await api.call("AddTags", [("ResourceArns.member.1", lbArn), ("Tags.member.1.Key", key), ("Tags.member.1.Value", value)])
            #expect(tagged.status == status, "\(key.prefix(12))=\(value.prefix(12))")
        }
    }

    /// Whatever text a node holds, the document is well-formed (libxml2 parses it).
    @Test func theWriterNeverProducesIllFormedXML() {
        var output = ""
        XMLNode.element("Tags", [.value("Key", "a\u{1}b\u{FFFE}c\u{FFFF}<&>\u{0}"), .value("Value", "tab\there\u{7F}")]).write(into: &output)
        #expect(output == "<Tags><Key>a\u{FFFD}b\u{FFFD}c\u{FFFD}&lt;&amp;&gt;\u{FFFD}</Key><Value>tab\there\u{7F}</Value></Tags>")
        #expect(XMLParser(data: Data(output.utf8)).parse())
    }
}
