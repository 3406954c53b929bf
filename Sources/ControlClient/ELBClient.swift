import ControlContract
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Calls elbv2 operations on gwlbd (the Query protocol over its Unix socket) and turns the XML
/// answer into the JSON shape the aws CLI prints.
public struct ELBClient: Sendable {
    public var http: UnixHTTPClient

    public init(socketPath: String, userAgent: String = "gwlb-cli") {
        http = UnixHTTPClient(socketPath: socketPath)
        http.userAgent = userAgent
    }

    /// An error answer from gwlbd, as AWS words it.
    public struct APIError: Error, CustomStringConvertible, Equatable {
        public let code: String
        public let message: String
        public let action: String

        public init(code: String, message: String, action: String) {
            self.code = code
            self.message = message
            self.action = action
        }

        /// The aws CLI's wording, so scripts that match on it keep working.
        public var description: String {
            "An error occurred (\(code)) when calling the \(action) operation: \(message)"
        }
    }

    /// How long `call` keeps retrying a request gwlbd did not take: `ServiceUnavailable` (a gwlbd
    /// handing over to its successor changes nothing meanwhile) or a connection closed before any
    /// answer. AWS's SDKs and the aws CLI retry both the same way, with backoff.
    public var retrySeconds = 10.0

    /// Runs `action` with Query `parameters` (in order) and returns its result element as JSON.
    /// `ec2`: an EC2 operation (Version 2016-11-15, EC2's answer shapes).
    public func call(_ action: String, _ parameters: [(String, String)], ec2: Bool = false) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(retrySeconds)
        var pause = 0.05
        while true {
            do {
                return try ec2 ? callEC2(action, parameters) : callOnce(action, parameters)
            } catch let error as UnixHTTPClient.ConnectionError where error.unanswered && Date().addingTimeInterval(pause) < deadline {
            } catch let error as APIError where ["ServiceUnavailable", "Unavailable"].contains(error.code) && Date().addingTimeInterval(pause) < deadline {
            }
            usleep(UInt32(pause * 1_000_000))
            pause = min(pause * 2, 1)
        }
    }

    private func callOnce(_ action: String, _ parameters: [(String, String)]) throws -> JSONValue {
        let root = try post(action, version: "2015-12-01", parameters)
        if root.name == "ErrorResponse" {
            let error = root.child("Error")
            throw APIError(code: error?.child("Code")?.text ?? "Unknown", message: error?.child("Message")?.text ?? "", action: action)
        }
        // A result element is always a structure, even an empty one (RegisterTargets).
        return .object((root.child("\(action)Result")?.children ?? []).map { ($0.name, ResponseShapes.json($0)) })
    }

    /// EC2 answers with no Result wrapper, and its errors in `<Response><Errors><Error>`.
    private func callEC2(_ action: String, _ parameters: [(String, String)]) throws -> JSONValue {
        let root = try post(action, version: "2016-11-15", parameters)
        if root.name == "Response", let error = root.child("Errors")?.child("Error") {
            throw APIError(code: error.child("Code")?.text ?? "Unknown", message: error.child("Message")?.text ?? "", action: action)
        }
        return EC2ResponseShapes.json(root)
    }

    /// One Query request; the answer's XML.
    private func post(_ action: String, version: String, _ parameters: [(String, String)]) throws -> XMLTree {
        let form = ([("Action", action), ("Version", version)] + parameters)
            .map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        let response = try http.request("POST", "/", body: Data(form.utf8), contentType: "application/x-www-form-urlencoded; charset=utf-8")
        guard let root = XMLTree.parse(response.body) else {
            throw UnixHTTPClient.ConnectionError(description: "gwlbd answered \(action) with HTTP \(response.status) and no XML")
        }
        return root
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// A parsed XML element: enough of the DOM for AWS's responses (no attributes, no mixed content).
public struct XMLTree: Sendable {
    public var name: String
    public var text: String
    public var children: [XMLTree]

    public func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    /// Nil for anything but a well-formed UTF-8 document.
    public static func parse(_ data: Data) -> XMLTree? {
        // Foundation's parser traps on an element name that is not UTF-8 (found by `.ci/fuzz xml`):
        // such bytes are refused before it sees them. AWS's answers are UTF-8 throughout.
        guard String(data: data, encoding: .utf8) != nil else { return nil }
        // It also crashes on a processing instruction without data (`<?x?>`, found the same way):
        // an answer holds none but the XML declaration at its start.
        let declaration = Data("<?xml".utf8)
        let body = data.starts(with: declaration) ? data.dropFirst(declaration.count) : data[...]
        guard body.firstRange(of: Data("<?".utf8)) == nil else { return nil }
        let builder = TreeBuilder()
        let parser = XMLParser(data: data)
        parser.delegate = builder
        guard parser.parse() else { return nil }
        return builder.root
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        var stack: [XMLTree] = []
        var root: XMLTree?

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            stack.append(XMLTree(name: elementName, text: "", children: []))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            let element = stack.removeLast()
            if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
        }
    }
}

/// botocore's elbv2 shapes, as far as the aws CLI's output shows them: which members are lists,
/// numbers, booleans and timestamps (XML carries only text).
public enum ResponseShapes {
    static let lists: Set<String> = [
        "LoadBalancers", "TargetGroups", "Listeners", "DefaultActions", "AvailabilityZones", "LoadBalancerAddresses",
        "TargetHealthDescriptions", "Attributes", "TagDescriptions", "Tags", "LoadBalancerArns", "SecurityGroups", "Endpoints",
        "NodeHealth",
    ]
    static let integers: Set<String> = [
        "Port", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount",
        "ActiveFlows", "ActiveTCPFlows", "Flows",
    ]
    static let booleans: Set<String> = ["HealthCheckEnabled", "DryRun", "Complete"]
    static let timestamps: Set<String> = ["CreatedTime", "DrainingUntil"]

    public static func json(_ element: XMLTree) -> JSONValue {
        if !element.children.isEmpty && element.children.allSatisfy({ $0.name == "member" }) || lists.contains(element.name) {
            return .array(element.children.map { member in
                member.children.isEmpty ? .string(member.text) : json(member, named: nil)
            })
        }
        return json(element, named: element.name)
    }

    private static func json(_ element: XMLTree, named name: String?) -> JSONValue {
        guard element.children.isEmpty else {
            return .object(element.children.map { ($0.name, json($0)) })
        }
        let text = element.text
        guard let name else { return .string(text) }
        if integers.contains(name), let number = Int(text) { return .number(number) }
        if booleans.contains(name) { return .bool(text == "true") }
        if timestamps.contains(name) { return .string(cliTimestamp(text)) }
        return .string(text)
    }

    /// `2026-12-02T10:00:00.123Z` as the aws CLI prints timestamps: `2026-12-02T10:00:00.123000+00:00`.
    static func cliTimestamp(_ text: String) -> String {
        guard let date = Timestamp.date(from: text) else { return text }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'+00:00'"
        return formatter.string(from: date)
    }
}
