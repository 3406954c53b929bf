import ControlClient
import Foundation
import Testing

/// The client's reading of gwlbd's XML answers: anything but a well-formed UTF-8 document is
/// no tree, never a crash.
@Suite struct ClientXMLTests {
    /// The input `.ci/fuzz xml` found: an element name cut by bytes that are not UTF-8, on which
    /// Foundation's parser traps.
    @Test func anElementNameThatIsNotUTF8IsRefused() {
        let input = Data("<DescribeTargetGroupsRespon".utf8) + Data(repeating: 0xFF, count: 106)
            + Data("se xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"></DescribeTargetGroupsResponse>".utf8)
        #expect(XMLTree.parse(input) == nil)
    }

    /// The second: a processing instruction without data, on which Foundation's parser reads a
    /// null pointer. Only the XML declaration may start with `<?`.
    @Test func aProcessingInstructionIsRefused() throws {
        #expect(XMLTree.parse(Data("<D<?mke4?>sT".utf8)) == nil)
        #expect(XMLTree.parse(Data("<a><?x?></a>".utf8)) == nil)
        let declared = try #require(XMLTree.parse(Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a><b>1</b></a>".utf8)))
        #expect(declared.child("b")?.text == "1")
    }

    @Test func aWellFormedAnswerIsATree() throws {
        let tree = try #require(XMLTree.parse(Data("<R><TargetGroups><member><Port>6081</Port></member></TargetGroups></R>".utf8)))
        #expect(tree.child("TargetGroups")?.children.first?.child("Port")?.text == "6081")
    }
}
