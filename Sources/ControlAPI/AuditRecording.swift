import ControlContract
import Foundation
import Telemetry

/// Turns a Query request and its answer into the audit trail's JSON shapes.
enum AuditRecording {
    /// `Targets.member.1.Id=…` → `{"targets": [{"id": …}]}`: CloudTrail's nested, lower-camel-case
    /// `requestParameters` (Action and Version are the event's name and apiVersion).
    static func requestParameters(_ parameters: [String: String]) -> JSONValue {
        var root = Node.object([:])
        for (key, value) in parameters where key != "Action" && key != "Version" {
            root.insert(value, at: key.split(separator: ".").map(String.init)[...])
        }
        return root.json
    }

    /// The XML result as JSON (`member` lists as arrays), for calls that change something.
    static func responseElements(_ result: [XMLNode]) -> JSONValue {
        var object: [(String, JSONValue)] = []
        for node in result {
            switch node {
            case .value(let name, let text): object.append((lowerCamel(name), .string(text)))
            case .element(let name, let children): object.append((lowerCamel(name), responseElements(children)))
            case .list(let name, let members, _):
                object.append((lowerCamel(name), .array(members.map { member -> JSONValue in
                    if case .text(let text)? = member.first, member.count == 1 { return .string(text) }
                    return responseElements(member)
                })))
            case .text: break
            }
        }
        return .object(object)
    }

    static func lowerCamel(_ name: String) -> String {
        // "VPCId" → "vPCId" would be odd; AWS writes "vpcId": lower the leading capitals but the
        // last one before a lower-case letter.
        let characters = Array(name)
        var index = 0
        while index < characters.count, characters[index].isUppercase { index += 1 }
        let lowered = index == characters.count || index <= 1 ? index : index - 1
        return String(characters[..<lowered]).lowercased() + String(characters[lowered...])
    }

    private enum Node {
        case value(String)
        case object([String: Node])
        case list([Int: Node])

        mutating func insert(_ value: String, at path: ArraySlice<String>) {
            guard let first = path.first else {
                self = .value(value)
                return
            }
            // elbv2 numbers members `Name.member.N`, EC2 `Name.N`: both are lists.
            if let index = Int(first) {
                var members: [Int: Node] = [:]
                if case .list(let existing) = self { members = existing }
                var member = members[index] ?? .object([:])
                member.insert(value, at: path.dropFirst())
                members[index] = member
                self = .list(members)
                return
            }
            if first == "member", let indexText = path.dropFirst().first, let index = Int(indexText) {
                var members: [Int: Node] = [:]
                if case .list(let existing) = self { members = existing }
                var member = members[index] ?? .object([:])
                member.insert(value, at: path.dropFirst(2))
                members[index] = member
                self = .list(members)
                return
            }
            var fields: [String: Node] = [:]
            if case .object(let existing) = self { fields = existing }
            let key = AuditRecording.lowerCamel(first)
            var child = fields[key] ?? .object([:])
            child.insert(value, at: path.dropFirst())
            fields[key] = child
            self = .object(fields)
        }

        /// Keys sorted, list members in their numbers' order.
        var json: JSONValue {
            switch self {
            case .value(let text): .string(text)
            case .object(let fields): .object(fields.keys.sorted().map { ($0, fields[$0]!.json) })
            case .list(let members): .array(members.keys.sorted().map { members[$0]!.json })
            }
        }
    }
}
