import Catalog
import Testing
@testable import ControlAPI
@testable import ControlInput

@Suite struct QueryProtocolTests {
    @Test func decodesListsAndStructures() throws {
        let request = try QueryRequest(body: "Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A1%3Atargetgroup%2Fmy-targets%2F0123456789abcdef"
            + "&Targets.member.2.Id=198.18.1.12&Targets.member.1.Id=198.18.1.11&Targets.member.1.Port=6081&Names.member.1=a+b&Names.member.10=j&Names.member.2=c%20d")
        #expect(request.action == "RegisterTargets")
        #expect(try request.required("TargetGroupArn") == "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/my-targets/0123456789abcdef")
        #expect(try request.structures("Targets") == [["Id": "198.18.1.11", "Port": "6081"], ["Id": "198.18.1.12"]])
        #expect(try request.list("Names") == ["a b", "c d", "j"], "members in numeric order")
        #expect(try request.list("Missing").isEmpty)
        #expect(try request.int("Nothing") == nil)
    }

    @Test(arguments: [
        ("Action=X&Name=%4", ELBError.Code.malformedQueryString),
        ("Action=X&Name=%zz", .malformedQueryString),
        ("Action=X&Name=%ff", .malformedQueryString),  // not UTF-8
        ("=value&Action=X", .malformedQueryString),
        ("Version=2015-12-01", .missingAction),
        ("", .missingAction),
        ("Action=X&Version=2012-06-01", .validationError),
    ])
    func malformedRequestsHaveTheirCodes(body: String, code: ELBError.Code) {
        do throws(ELBError) {
            _ = try QueryRequest(body: body)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.code == code, "\(body): \(error)")
        }
    }

    @Test func typedParametersAreChecked() throws {
        let request = try QueryRequest(body: "Action=X&Port=eighty&Flag=maybe&Names.member.x=1&Targets.member.1=1")
        #expect(throws: ELBError.self) { try request.int("Port") }
        #expect(throws: ELBError.self) { try request.bool("Flag") }
        #expect(throws: ELBError.self) { try request.list("Names") }
        #expect(throws: ELBError.self) { try request.structures("Targets") }
        #expect(throws: ELBError.self) { try request.required("Absent") }
    }

    @Test func oversizedBodiesAreRefused() {
        #expect(throws: ELBError.self) { try QueryRequest(body: "Action=X&Big=" + String(repeating: "a", count: QueryRequest.maximumBodyLength)) }
    }

    @Test func successShape() {
        let xml = QueryResponse.success(action: "DescribeTargetHealth", result: [
            .list("TargetHealthDescriptions", [[
                .element("Target", [.value("Id", "198.18.1.11"), .value("Port", "6081")]),
                .value("HealthCheckPort", "80"),
                .element("TargetHealth", [.value("State", "healthy")]),
            ]]),
        ], requestID: "r-1")
        #expect(xml == """
            <?xml version="1.0" encoding="UTF-8"?>
            <DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">\
            <DescribeTargetHealthResult><TargetHealthDescriptions><member><Target><Id>198.18.1.11</Id><Port>6081</Port></Target>\
            <HealthCheckPort>80</HealthCheckPort><TargetHealth><State>healthy</State></TargetHealth></member></TargetHealthDescriptions>\
            </DescribeTargetHealthResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeTargetHealthResponse>

            """)
    }

    @Test func errorShapeAndEscaping() {
        let xml = QueryResponse.error(code: "ValidationError", message: "Name 'a<b>&\"c\"' is bad", requestID: "r-2")
        #expect(xml == """
            <?xml version="1.0" encoding="UTF-8"?>
            <ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type>\
            <Code>ValidationError</Code><Message>Name &apos;a&lt;b&gt;&amp;&quot;c&quot;&apos; is bad</Message></Error>\
            <RequestId>r-2</RequestId></ErrorResponse>

            """)
    }
}
