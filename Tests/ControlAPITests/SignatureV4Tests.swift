import Catalog
import Crypto
import Foundation
import Testing
@testable import ControlAPI
@testable import ControlInput

/// Signature Version 4 as AWS specifies it: AWS's published "get-vanilla" example, then the
/// refusals with AWS's error codes.
@Suite struct SignatureV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let now = SignatureV4Verifier.parse("20150830T123600Z")!

    /// AWS's SigV4 test suite, get-vanilla: GET / on example.amazonaws.com, region us-east-1,
    /// service "service".
    @Test func awsPublishedExampleSignsAlike() throws {
        let request = SignatureV4Verifier.Request(method: "GET", path: "/", query: "", headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                                                  body: Data())
        let signature = SignatureV4Verifier.signature(request, signedHeaders: ["host", "x-amz-date"], amzDate: "20150830T123600Z",
                                                      scope: "20150830/us-east-1/service/aws4_request", secret: Self.secret,
                                                      region: "us-east-1", service: "service")
        #expect(signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        var signed = request
        signed.headers.append(("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=\(signature)"))
        let verifier = SignatureV4Verifier(region: "us-east-1", services: ["service"], credentials: ["AKIDEXAMPLE": Self.secret])
        #expect(try verifier.verify(signed, now: Self.now) == "AKIDEXAMPLE")
    }

    /// A POST with a body, signed the way botocore signs the Query protocol.
    func signedPost(body: String, secret: String = SignatureV4Tests.secret, key: String = "AKIDEXAMPLE", date: String = "20150830T123600Z",
                    region: String = "us-east-1") -> SignatureV4Verifier.Request {
        var request = SignatureV4Verifier.Request(method: "POST", path: "/", query: "",
                                                  headers: [("host", "127.0.0.1:8443"), ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
                                                            ("x-amz-date", date)], body: Data(body.utf8))
        let scope = "\(date.prefix(8))/\(region)/elasticloadbalancing/aws4_request"
        let signature = SignatureV4Verifier.signature(request, signedHeaders: ["content-type", "host", "x-amz-date"], amzDate: date, scope: scope,
                                                      secret: secret, region: region, service: "elasticloadbalancing")
        request.headers.append(("authorization", "AWS4-HMAC-SHA256 Credential=\(key)/\(scope), SignedHeaders=content-type;host;x-amz-date, Signature=\(signature)"))
        return request
    }

    func code(_ request: SignatureV4Verifier.Request, now: Date = SignatureV4Tests.now) -> ELBError.Code? {
        let verifier = SignatureV4Verifier(region: "us-east-1", credentials: ["AKIDEXAMPLE": Self.secret])
        do { try verifier.verify(request, now: now); return nil } catch { return error.code }
    }

    @Test func refusalsHaveAWSsCodes() {
        let body = "Action=DescribeLoadBalancers&Version=2015-12-01"
        #expect(code(signedPost(body: body)) == nil)
        var tampered = signedPost(body: body)
        tampered.body = Data("Action=DeleteLoadBalancer&Version=2015-12-01".utf8)
        #expect(code(tampered) == .signatureDoesNotMatch, "the body is signed")
        #expect(code(signedPost(body: body, secret: "wrong")) == .signatureDoesNotMatch)
        #expect(code(signedPost(body: body, key: "AKIDUNKNOWN")) == .invalidClientTokenId)
        #expect(code(signedPost(body: body, region: "eu-west-1")) == .signatureDoesNotMatch, "scoped to another region")
        #expect(code(signedPost(body: body), now: Self.now.addingTimeInterval(20 * 60)) == .requestExpired)
        #expect(code(signedPost(body: body), now: Self.now.addingTimeInterval(14 * 60)) == nil, "within 15 minutes")
        var unsigned = signedPost(body: body)
        unsigned.headers.removeAll { $0.0 == "authorization" }
        #expect(code(unsigned) == .missingAuthenticationToken)
        var partial = signedPost(body: body)
        partial.headers = partial.headers.map { $0.0 == "authorization" ? ($0.0, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/elasticloadbalancing/aws4_request") : $0 }
        #expect(code(partial) == .incompleteSignature)
        var noDate = signedPost(body: body)
        noDate.headers.removeAll { $0.0 == "x-amz-date" }
        #expect(code(noDate) == .incompleteSignature)
    }

    /// The payload hash is always the body's: a content-hash header must be signed, must match,
    /// and may not be UNSIGNED-PAYLOAD.
    @Test func contentHashHeaderIsCheckedNotTrusted() {
        let body = "Action=DescribeLoadBalancers&Version=2015-12-01"
        let evil = Data("Action=DeleteLoadBalancer&Version=2015-12-01".utf8)
        var replay = signedPost(body: body)
        replay.headers.append(("x-amz-content-sha256", SignatureV4Verifier.hex(SHA256.hash(data: Data(body.utf8)))))
        replay.body = evil
        #expect(code(replay) == .signatureDoesNotMatch, "an unsigned hash header names the original body")
        var unsignedPayload = signedPost(body: body)
        unsignedPayload.headers.append(("x-amz-content-sha256", "UNSIGNED-PAYLOAD"))
        #expect(code(unsignedPayload) == .signatureDoesNotMatch)
        // Signed, and so trusted as far as it goes, but not this body's.
        var signedHeader = SignatureV4Verifier.Request(method: "POST", path: "/", query: "",
                                                       headers: [("host", "h"), ("x-amz-date", "20150830T123600Z"),
                                                                 ("x-amz-content-sha256", String(repeating: "0", count: 64))], body: Data(body.utf8))
        let scope = "20150830/us-east-1/elasticloadbalancing/aws4_request"
        let signature = SignatureV4Verifier.signature(signedHeader, signedHeaders: ["host", "x-amz-content-sha256", "x-amz-date"],
                                                      amzDate: "20150830T123600Z", scope: scope, secret: Self.secret, region: "us-east-1",
                                                      service: "elasticloadbalancing")
        signedHeader.headers.append(("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(scope), SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=\(signature)"))
        #expect(code(signedHeader) == .signatureDoesNotMatch)
    }

    /// The date parser agrees with Foundation's formatter (leap days, year ends) and refuses what
    /// the format does not allow.
    @Test func amzDateParsesLikeAFormatter() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        for text in ["20150830T123600Z", "20000229T000000Z", "19700101T000000Z", "20261231T235959Z", "21000301T120000Z", "20240229T235959Z"] {
            #expect(SignatureV4Verifier.parse(text) == formatter.date(from: text), "\(text)")
        }
        for text in ["2015-08-30T12:36:00Z", "20150830T123600", "20151330T123600Z", "20150830T253600Z", "2015083OT123600Z", ""] {
            #expect(SignatureV4Verifier.parse(text) == nil, "\(text)")
        }
    }

    @Test func signaturesCompareByValue() {
        #expect(SignatureV4Verifier.constantTimeEqual("abc", "abc"))
        #expect(!SignatureV4Verifier.constantTimeEqual("abc", "abd"))
        #expect(!SignatureV4Verifier.constantTimeEqual("abc", "abcd"))
    }

    /// Refused on the headers alone, before any body exists.
    @Test func headersAreJudgedBeforeTheBody() {
        let verifier = SignatureV4Verifier(region: "us-east-1", credentials: ["AKIDEXAMPLE": Self.secret])
        let headers = signedPost(body: "x").headers
        #expect(throws: ELBError.self) { try verifier.authorization(headers: headers, now: Self.now.addingTimeInterval(3600)) }
        #expect(throws: ELBError.self) { try verifier.authorization(headers: headers.filter { $0.0 != "authorization" }, now: Self.now) }
        #expect((try? verifier.authorization(headers: headers, now: Self.now))?.accessKeyId == "AKIDEXAMPLE")
    }

    @Test func credentialsFileIsTheAwsCLIsFormatAndPrivate() throws {
        let keys = try CredentialsFile.parse("""
            # operators
            [default]
            aws_access_key_id = AKIDEXAMPLE
            aws_secret_access_key = \(Self.secret)
            [ci]
            aws_access_key_id=AKIDCI
            aws_secret_access_key=other
            """)
        #expect(keys == ["AKIDEXAMPLE": Self.secret, "AKIDCI": "other"])
        #expect(throws: CredentialsFile.Invalid.self) { try CredentialsFile.parse("[x]\naws_access_key_id = A\n") }
        let path = NSTemporaryDirectory() + "gwlb-credentials-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "[default]\naws_access_key_id = A\naws_secret_access_key = B\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect { try CredentialsFile.load(path: path) } throws: { "\($0)".contains("chmod 600") }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try CredentialsFile.load(path: path) == ["A": "B"])
        // Through a link: refused (the descriptor is checked, and no link is followed).
        let link = path + ".link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        defer { try? FileManager.default.removeItem(atPath: link) }
        #expect(throws: CredentialsFile.Invalid.self) { try CredentialsFile.load(path: link) }
        // Another user's file, even private: refused (root can give it away, as CI runs).
        if geteuid() == 0 {
            chown(path, 65534, 65534)
            #expect { try CredentialsFile.load(path: path) } throws: { "\($0)".contains("belongs to uid 65534") }
        }
    }
}
