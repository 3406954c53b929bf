import Foundation

/// A JSON value that keeps its keys in order, so output reads like the aws CLI's (which keeps the
/// order of the service's response).
public indirect enum JSONValue: Equatable, Sendable {
    case string(String)
    case number(Int)
    /// A number with a fraction or exponent (JMESPath's `avg`, a literal `1.5`).
    case decimal(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([(String, JSONValue)])
    case null

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.decimal(a), .decimal(b)): a == b
        case let (.bool(a), .bool(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.null, .null): true
        default: false
        }
    }

    /// `list[0].key` as a string: the ARN a Create call answered with, for one.
    public func firstString(_ list: String, _ key: String) -> String? {
        guard case .array(let items)? = self[list], case .string(let value)? = items.first?[key] else { return nil }
        return value
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    public var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    /// The value as text, as the table and text outputs print it.
    public var scalarText: String {
        switch self {
        case .string(let text): text
        case .number(let number): String(number)
        case .decimal(let number): String(number)
        case .bool(let flag): flag ? "True" : "False"
        case .null: "None"
        case .array, .object: ""
        }
    }

    /// Pretty-printed with four spaces, as `aws --output json` prints.
    public func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent + 4), close = String(repeating: " ", count: indent)
        switch self {
        case .string(let text): return Self.quote(text)
        case .number(let number): return String(number)
        case .decimal(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { pad + $0.rendered(indent: indent + 4) }.joined(separator: ",\n") + "\n\(close)]"
        case .object(let fields):
            guard !fields.isEmpty else { return "{}" }
            return "{\n" + fields.map { pad + Self.quote($0.0) + ": " + $0.1.rendered(indent: indent + 4) }.joined(separator: ",\n") + "\n\(close)}"
        }
    }

    static func quote(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let s where s.value < 0x20: output += String(format: "\\u%04x", s.value)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}

/// Literals, so a JSON value reads as JSON in code: `["targets": [["id": "198.18.1.11"]]]`.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
}

/// Reading a parsed document: nil where the value is of another kind.
extension JSONValue {
    /// A whole number (`3`, or `3.0`).
    public var intValue: Int? {
        switch self {
        case .number(let number): number
        case .decimal(let number) where number.rounded() == number && abs(number) < 9e18: Int(number)
        default: nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .number(let number): Double(number)
        case .decimal(let number): number
        default: nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
