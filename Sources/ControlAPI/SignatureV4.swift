import Crypto
import Foundation
import Resources

/// Checks AWS Signature Version 4 on requests to the TCP API (service `elasticloadbalancing`), as
/// the aws CLI and boto3 sign them: the Authorization header's credential scope, signed headers
/// and signature, recomputed from the request and the secret of its access key id. A request more
/// than 15 minutes away from now is refused.
public struct SignatureV4Verifier: Sendable {
    public let region: String
    public let service: String
    /// Access key id → secret access key.
    public let credentials: [String: String]
    public var maximumSkew: TimeInterval = 15 * 60

    public init(region: String, service: String = "elasticloadbalancing", credentials: [String: String]) {
        self.region = region
        self.service = service
        self.credentials = credentials
    }

    /// What a signature covers. `headers` with lower-case names (a name may repeat).
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: String
        public var headers: [(String, String)]
        public var body: Data

        public init(method: String, path: String, query: String, headers: [(String, String)], body: Data) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers.map { ($0.0.lowercased(), $0.1) }
            self.body = body
        }

        func header(_ name: String) -> String? {
            let values = headers.filter { $0.0 == name }.map(\.1)
            return values.isEmpty ? nil : values.joined(separator: ",")
        }
    }

    /// The access key id that signed `request`, or AWS's error.
    @discardableResult
    public func verify(_ request: Request, now: Date = Date()) throws(ELBError) -> String {
        guard let authorization = request.header("authorization") else {
            throw ELBError(.missingAuthenticationToken, "Request is missing Authentication Token: sign it with Signature Version 4")
        }
        let incomplete = { (what: String) in ELBError(.incompleteSignature, "\(what) (Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…)") }
        guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else { throw incomplete("Only AWS4-HMAC-SHA256 is accepted") }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedHeaderList = fields["SignedHeaders"], let signature = fields["Signature"] else {
            throw incomplete("Authorization needs Credential, SignedHeaders and Signature")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else { throw incomplete("Credential must be KEY/DATE/REGION/SERVICE/aws4_request") }
        guard let amzDate = request.header("x-amz-date"), let date = Self.parse(amzDate) else {
            throw incomplete("X-Amz-Date (yyyyMMdd'T'HHmmss'Z') is missing or malformed")
        }
        let signedHeaders = signedHeaderList.split(separator: ";").map(String.init)
        guard signedHeaders.contains("host") else { throw incomplete("SignedHeaders must include host") }
        guard let secret = credentials[scope[0]] else {
            throw ELBError(.invalidClientTokenId, "The security token included in the request is invalid: access key id '\(scope[0])' is not known")
        }
        guard abs(date.timeIntervalSince(now)) <= maximumSkew else {
            throw ELBError(.requestExpired, "Request has expired: X-Amz-Date \(amzDate) is more than 15 minutes from the server's time")
        }
        guard scope[1] == String(amzDate.prefix(8)), scope[2] == region, scope[3] == service else {
            throw ELBError(.signatureDoesNotMatch, "Credential should be scoped to \(amzDate.prefix(8))/\(region)/\(service)/aws4_request")
        }
        let expected = Self.signature(request, signedHeaders: signedHeaders, amzDate: amzDate, scope: scope[1...4].joined(separator: "/"), secret: secret,
                                      region: region, service: service)
        guard expected == signature else {
            throw ELBError(.signatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
        }
        return scope[0]
    }

    static func parse(_ amzDate: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: amzDate)
    }

    /// The signature SigV4 gives `request` (hex).
    static func signature(_ request: Request, signedHeaders: [String], amzDate: String, scope: String, secret: String,
                          region: String, service: String) -> String {
        let canonicalHeaders = signedHeaders.sorted().map { name in
            "\(name):\(collapse(request.header(name) ?? ""))\n"
        }.joined()
        let payloadHash = request.header("x-amz-content-sha256") ?? hex(SHA256.hash(data: request.body))
        let canonicalRequest = [request.method, canonicalURI(request.path), canonicalQuery(request.query), canonicalHeaders,
                                signedHeaders.sorted().joined(separator: ";"), payloadHash].joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [String(amzDate.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    static func collapse(_ value: String) -> String {
        value.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")

    static func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text }

    static func canonicalURI(_ path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0).removingPercentEncoding ?? String($0)) }
        let joined = segments.joined(separator: "/")
        return joined.isEmpty ? "/" : joined
    }

    static func canonicalQuery(_ query: String) -> String {
        let pairs: [(String, String)] = query.split(separator: "&").map { pair in
            let parts: [String] = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
            return (encode(parts[0]), encode(parts.count > 1 ? parts[1] : ""))
        }
        let sorted = pairs.sorted { (a: (String, String), b: (String, String)) -> Bool in a.0 == b.0 ? a.1 < b.1 : a.0 < b.0 }
        return sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }
}
