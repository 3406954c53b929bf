/// A node of an elbv2 XML response.
public indirect enum XMLNode: Hashable, Sendable {
    /// `<name>escaped text</name>`
    case value(String, String)
    /// `<name>children</name>`
    case element(String, [XMLNode])
    /// `<name><member>…</member>…</name>`: AWS's list shape (EC2's members are `item`).
    case list(String, [[XMLNode]], member: String = "member")
    /// Text without an element of its own: a string list's member (`<item>subnet-1</item>`).
    case text(String)

    var name: String {
        switch self {
        case .value(let name, _), .element(let name, _), .list(let name, _, _): name
        case .text: ""
        }
    }

    /// The same node under another name.
    func renamed(_ name: String) -> XMLNode {
        switch self {
        case .value(_, let text): .value(name, text)
        case .element(_, let children): .element(name, children)
        case .list(_, let members, let member): .list(name, members, member: member)
        case .text(let text): .text(text)
        }
    }

    func write(into output: inout String) {
        switch self {
        case .value(let name, let text):
            output += "<\(name)>\(XMLNode.escape(text))</\(name)>"
        case .element(let name, let children):
            output += "<\(name)>"
            for child in children { child.write(into: &output) }
            output += "</\(name)>"
        case .list(let name, let members, let memberName):
            output += "<\(name)>"
            for member in members {
                output += "<\(memberName)>"
                for child in member { child.write(into: &output) }
                output += "</\(memberName)>"
            }
            output += "</\(name)>"
        case .text(let text):
            output += XMLNode.escape(text)
        }
    }

    /// Escapes markup, and replaces what XML 1.0 cannot carry at all (controls but tab, CR and LF;
    /// U+FFFE and U+FFFF) with U+FFFD, so an answer is always well-formed whatever was stored.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default:
                let value = scalar.value
                let allowed = value == 0x9 || value == 0xA || value == 0xD || (value >= 0x20 && value != 0xFFFE && value != 0xFFFF)
                escaped.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return escaped
    }
}

/// The two response shapes of the elbv2 Query protocol (README "The control plane").
public enum QueryResponse {
    public static let namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

    /// `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></ActionResponse>`
    public static func success(action: String, result: [XMLNode], requestID: String) -> String {
        var output = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(action)Response xmlns=\"\(namespace)\">"
        XMLNode.element("\(action)Result", result).write(into: &output)
        XMLNode.element("ResponseMetadata", [.value("RequestId", requestID)]).write(into: &output)
        output += "</\(action)Response>\n"
        return output
    }

    /// `<ErrorResponse xmlns=…><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`
    public static func error(code: String, message: String, requestID: String, type: String = "Sender") -> String {
        var output = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"\(namespace)\">"
        XMLNode.element("Error", [.value("Type", type), .value("Code", code), .value("Message", message)]).write(into: &output)
        XMLNode.value("RequestId", requestID).write(into: &output)
        output += "</ErrorResponse>\n"
        return output
    }
}
