import ControlClient
import ControlContract
import Foundation

/// An elbv2 verb's command line, read as the aws CLI reads it: `--flag value`, lists as several
/// values, structures in shorthand (`Key=a,Value=b`) or JSON, `file://PATH` for any value, booleans
/// as `--flag` / `--no-flag`; plus `--output`, `--query`, `--no-paginate` and gwlb's `--socket`.
public struct ELBArguments: Equatable {
    public enum Output: String, Sendable { case json, table, text }

    public var parameters: [(String, String)] = []
    public var output = Output.json
    public var socketPath: String?
    public var paginate = true
    /// `--query`: a JMESPath expression applied to the response before output.
    public var query: String?

    public static func == (lhs: ELBArguments, rhs: ELBArguments) -> Bool {
        lhs.parameters.elementsEqual(rhs.parameters) { $0 == $1 } && lhs.output == rhs.output
            && lhs.socketPath == rhs.socketPath && lhs.paginate == rhs.paginate && lhs.query == rhs.query
    }

    /// A command line the verb cannot take, worded like the aws CLI's usage errors.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public init(_ arguments: [String], for operation: ELBOperation) throws {
        var remaining = arguments[...]
        var seen: Set<String> = []
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("--") else { throw Invalid(description: "Unknown options: \(argument)") }
            let flag = String(argument.dropFirst(2))
            let values = Array(remaining.prefix { !$0.hasPrefix("--") })
            remaining = remaining.dropFirst(values.count)
            switch flag {
            case "output":
                guard values.count == 1, let output = Output(rawValue: values[0]) else {
                    throw Invalid(description: "--output must be one of: json, table, text")
                }
                self.output = output
                continue
            case "socket":
                guard values.count == 1 else { throw Invalid(description: "--socket takes one path") }
                socketPath = values[0]
                continue
            case "query":
                guard values.count == 1 else { throw Invalid(description: "--query takes one expression") }
                _ = try JMESPath.parse(values[0])
                query = values[0]
                continue
            case "no-paginate":
                paginate = false
                continue
            default: break
            }
            let negated = flag.hasPrefix("no-")
            guard let parameter = operation.parameters.first(where: { $0.flag == flag })
                    ?? operation.parameters.first(where: { negated && $0.kind == .boolean && $0.flag == flag.dropFirst(3) }) else {
                throw Invalid(description: "Unknown options: --\(flag)")
            }
            guard seen.insert(parameter.name).inserted else { throw Invalid(description: "--\(parameter.flag) is given twice") }
            let expanded = try values.map(Self.expandFile)
            parameters += operation.service == .ec2 && [.strings, .structures].contains(parameter.kind)
                ? try Self.encodeEC2List(parameter, values: expanded)
                : try Self.encode(parameter, values: expanded, negated: negated)
        }
        let missing = operation.parameters.filter { $0.required && !seen.contains($0.name) }
        guard missing.isEmpty else {
            throw Invalid(description: "the following arguments are required: " + missing.map { "--\($0.flag)" }.joined(separator: ", "))
        }
    }

    /// `file://PATH` reads the value from a file, as the aws CLI does.
    static func expandFile(_ value: String) throws -> String {
        guard value.hasPrefix("file://") else { return value }
        let path = String(value.dropFirst(7))
        guard let data = FileManager.default.contents(atPath: path) else { throw Invalid(description: "cannot read \(path)") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    static func encode(_ parameter: ELBOperation.Parameter, values: [String], negated: Bool) throws -> [(String, String)] {
        let name = parameter.name, flag = "--\(parameter.flag)"
        switch parameter.kind {
        case .boolean:
            guard values.isEmpty else { throw Invalid(description: "\(flag) takes no value (use --no-\(parameter.flag) for false)") }
            return [(name, negated ? "false" : "true")]
        case .string, .integer:
            guard values.count == 1 else { throw Invalid(description: "\(flag) takes one value") }
            if parameter.kind == .integer, Int(values[0]) == nil {
                throw Invalid(description: "invalid literal for int() with base 10: '\(values[0])' (\(flag))")
            }
            return [(name, values[0])]
        case .strings:
            guard !values.isEmpty else { throw Invalid(description: "\(flag) needs at least one value") }
            let items = try values.count == 1 && values[0].hasPrefix("[") ? jsonList(values[0], flag: flag) : values
            return items.enumerated().map { ("\(name).member.\($0.offset + 1)", $0.element) }
        case .structure:
            guard values.count == 1 else { throw Invalid(description: "\(flag) takes one structure") }
            return try structure(values[0], flag: flag).map { ("\(name).\($0.0)", $0.1) }
        case .structures:
            guard !values.isEmpty else { throw Invalid(description: "\(flag) needs at least one structure") }
            let members: [[(String, String)]]
            if values.count == 1, values[0].hasPrefix("[") {
                guard case .array(let array) = try jsonValue(values[0], flag: flag) else { throw Invalid(description: "\(flag): expected a JSON list") }
                members = array.map { flatten($0, prefix: "") }
            } else {
                members = try values.map { try structure($0, flag: flag) }
            }
            return members.enumerated().flatMap { index, fields in fields.map { ("\(name).member.\(index + 1).\($0.0)", $0.1) } }
        }
    }

    /// EC2's lists: `--subnet-ids a b` → `SubnetId.1=a&SubnetId.2=b`; structures in the aws CLI's
    /// shorthand (`Name=x,Values=a,b`, `ResourceType=r,Tags=[{Key=k,Value=v}]`) or JSON, nested
    /// lists named in the singular (`Filter.1.Value.1`, `TagSpecification.1.Tag.1.Key`).
    static func encodeEC2List(_ parameter: ELBOperation.Parameter, values: [String]) throws -> [(String, String)] {
        let flag = "--\(parameter.flag)"
        guard !values.isEmpty else { throw Invalid(description: "\(flag) needs at least one value") }
        let items: [JSONValue]
        if values.count == 1, values[0].hasPrefix("[") {
            guard case .array(let array) = try jsonValue(values[0], flag: flag) else { throw Invalid(description: "\(flag): expected a JSON list") }
            items = array
        } else if parameter.kind == .strings {
            items = values.map(JSONValue.string)
        } else {
            items = try values.map { text in
                if text.hasPrefix("{") { return try jsonValue(text, flag: flag) }
                do { return try Shorthand.parse(text) } catch { throw Invalid(description: "Error parsing parameter '\(flag)': \(error)") }
            }
        }
        return flattenEC2(.array(items), prefix: ELBOperation.singular(parameter.name))
    }

    static func flattenEC2(_ value: JSONValue, prefix: String) -> [(String, String)] {
        switch value {
        case .array(let items):
            return items.enumerated().flatMap { flattenEC2($0.element, prefix: "\(prefix).\($0.offset + 1)") }
        case .object(let fields):
            // A plural member is a list in EC2's model (`Values`, `Tags`), even with one value.
            return fields.sorted { $0.0 < $1.0 }.flatMap { key, field in
                let isList = if case .array = field { true } else { false }
                let plural = key.hasSuffix("s") || isList
                return flattenEC2(plural && !isList ? .array([field]) : field, prefix: "\(prefix).\(plural ? ELBOperation.singular(key) : key)")
            }
        default:
            return flatten(value, prefix: prefix)
        }
    }

    /// `Id=a,Port=1` (shorthand) or `{"Id": "a", "Port": 1}` (JSON) as Query fields.
    static func structure(_ text: String, flag: String) throws -> [(String, String)] {
        if text.hasPrefix("{") { return flatten(try jsonValue(text, flag: flag), prefix: "") }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { pair in
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw Invalid(description: "Error parsing parameter '\(flag)': expected key=value, got '\(pair)'")
            }
            return (String(pair[..<equals]).trimmingCharacters(in: .whitespaces), String(pair[pair.index(after: equals)...]))
        }
    }

    static func jsonValue(_ text: String, flag: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(text)
        } catch {
            throw Invalid(description: "Error parsing parameter '\(flag)': Invalid JSON: \(text)")
        }
    }

    static func jsonList(_ text: String, flag: String) throws -> [String] {
        guard case .array(let array) = try jsonValue(text, flag: flag) else { throw Invalid(description: "\(flag): expected a JSON list") }
        return array.map { flatten($0, prefix: "").first?.1 ?? "" }
    }

    /// JSON → Query fields: objects by dots (keys sorted), lists by `.member.N` (the Query protocol's rule).
    static func flatten(_ value: JSONValue, prefix: String) -> [(String, String)] {
        let join = { (key: String) in prefix.isEmpty ? key : "\(prefix).\(key)" }
        switch value {
        case .object(let fields):
            return fields.sorted { $0.0 < $1.0 }.flatMap { flatten($0.1, prefix: join($0.0)) }
        case .array(let items):
            return items.enumerated().flatMap { flatten($0.element, prefix: join("member.\($0.offset + 1)")) }
        case .string(let text):
            return [(prefix, text)]
        case .number, .decimal, .bool:
            return [(prefix, value.compact)]
        case .null:
            return []
        }
    }
}
