import Catalog
import Crypto
import Foundation

/// Checks AWS Signature Version 4 on requests to the TCP API (services `elasticloadbalancing` and
/// `ec2`), as
/// the aws CLI and boto3 sign them: the Authorization header's credential scope, signed headers
/// and signature, recomputed from the request and the secret of its access key id. A request more
/// than 15 minutes away from now is refused.
public struct SignatureV4Verifier: Sendable {
    public let region: String
    /// The services a request may be signed for (its credential scope names one).
    public let services: Set<String>
    /// Access key id → secret access key.
    public let credentials: [String: String]
    public var maximumSkew: TimeInterval = 15 * 60

    public init(region: String, services: Set<String> = ["elasticloadbalancing", "ec2"], credentials: [String: String]) {
        self.region = region
        self.services = services
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

    /// What the Authorization and X-Amz-Date headers say, checked before the body is read: a
    /// request with no known key, a malformed header or a stale date is refused without reading
    /// (or logging) what it carries.
    public struct Authorization: Sendable {
        public let accessKeyId: String
        /// The service the request is signed for (`elasticloadbalancing`, `ec2`).
        public let service: String
        let signedHeaders: [String]
        let signature: String
        let amzDate: String
        let scope: String
        let secret: String
    }

    /// Checks the headers alone (no body): AWS's error for a missing, malformed, unknown or stale
    /// signature. `headers` with lower-case names.
    public func authorization(headers: [(String, String)], now: Date = Date()) throws(ELBError) -> Authorization {
        let request = Request(method: "", path: "", query: "", headers: headers, body: Data())
        guard let authorization = request.header("authorization") else {
            throw ELBError(.missingAuthenticationToken, "Request is missing Authentication Token: sign it with Signature Version 4")
        }
        let incomplete = { (what: String) in ELBError(.incompleteSignature, "\(what) (Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…)") }
        guard authorization.utf8.count <= 4096 else { throw incomplete("The Authorization header is longer than 4096 bytes") }
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
            throw ELBError(.invalidClientTokenId, "The security token included in the request is invalid: access key id '\(Self.printable(scope[0]))' is not known")
        }
        guard abs(date.timeIntervalSince(now)) <= maximumSkew else {
            throw ELBError(.requestExpired, "Request has expired: X-Amz-Date \(amzDate) is more than 15 minutes from the server's time")
        }
        guard scope[1] == String(amzDate.prefix(8)), scope[2] == region, services.contains(scope[3]) else {
            let named = services.contains(scope[3]) ? scope[3] : services.sorted().joined(separator: " or ")
            throw ELBError(.signatureDoesNotMatch, "Credential should be scoped to \(amzDate.prefix(8))/\(region)/\(named)/aws4_request")
        }
        // A payload hash in a header counts only if the signature covers it; it must then also be
        // the body's (checked in `verify`). UNSIGNED-PAYLOAD is S3's, never valid here.
        if let claimed = request.header("x-amz-content-sha256") {
            guard signedHeaders.contains("x-amz-content-sha256") else {
                throw ELBError(.signatureDoesNotMatch, "X-Amz-Content-SHA256 is present but not among SignedHeaders")
            }
            guard claimed != "UNSIGNED-PAYLOAD" else {
                throw ELBError(.signatureDoesNotMatch, "UNSIGNED-PAYLOAD is not accepted: sign the body")
            }
        }
        return Authorization(accessKeyId: scope[0], service: scope[3], signedHeaders: signedHeaders, signature: signature, amzDate: amzDate,
                             scope: scope[1...4].joined(separator: "/"), secret: secret)
    }

    /// The access key id that signed `request`, or AWS's error.
    @discardableResult
    public func verify(_ request: Request, now: Date = Date()) throws(ELBError) -> String {
        try verify(request, authorization: authorization(headers: request.headers, now: now))
    }

    /// Completes `authorization` (from the headers) with the body: the signature must cover this
    /// very body, whatever X-Amz-Content-SHA256 claims.
    @discardableResult
    public func verify(_ request: Request, authorization: Authorization) throws(ELBError) -> String {
        if let claimed = request.header("x-amz-content-sha256"), claimed.lowercased() != Self.hex(SHA256.hash(data: request.body)) {
            throw ELBError(.signatureDoesNotMatch, "X-Amz-Content-SHA256 does not match the body's SHA-256")
        }
        let expected = Self.signature(request, signedHeaders: authorization.signedHeaders, amzDate: authorization.amzDate,
                                      scope: authorization.scope, secret: authorization.secret, region: region, service: authorization.service)
        guard Self.constantTimeEqual(expected, authorization.signature) else {
            throw ELBError(.signatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
        }
        return authorization.accessKeyId
    }

    /// Equal strings, in a time that depends on their lengths only (a signature's bytes must not
    /// leak through how soon a comparison stops).
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    /// A client-supplied string fit for a message: at most 128 printable ASCII characters.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(128).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
    }

    /// `yyyyMMdd'T'HHmmss'Z'` (UTC) without a formatter: digits at fixed places, fields in range.
    package static func parse(_ amzDate: String) -> Date? {
        let bytes = Array(amzDate.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8), let hour = number(9..<11),
              let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        return Date(timeIntervalSince1970: TimeInterval(days * 86400 + hour * 3600 + minute * 60 + second))
    }

    /// The signature SigV4 gives `request` (hex).
    package static func signature(_ request: Request, signedHeaders: [String], amzDate: String, scope: String, secret: String,
                          region: String, service: String) -> String {
        let canonicalHeaders = signedHeaders.sorted().map { name in
            "\(name):\(collapse(request.header(name) ?? ""))\n"
        }.joined()
        // Always the body's own hash: a header's claim is checked against it, never trusted instead.
        let payloadHash = hex(SHA256.hash(data: request.body))
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
