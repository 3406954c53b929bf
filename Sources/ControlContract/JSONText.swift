/// JSON text to `JSONValue` (keys in their order) and back in compact form, as JMESPath's literals
/// and `to_string` need them: RFC 8259, nothing more.
extension JSONValue {
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws -> JSONValue {
        var parser = JSONTextParser(Array(text.unicodeScalars))
        let value = try parser.value()
        parser.skipSpace()
        guard parser.atEnd else { throw ParseError(description: "extra text after the JSON value") }
        return value
    }

    /// Compact JSON (no spaces), non-ASCII escaped as `\uXXXX`: what Python's `json.dumps` with
    /// `separators=(',', ':')` writes, which JMESPath's `to_string` is.
    public var compact: String {
        switch self {
        case .string(let text): return Self.asciiQuote(text)
        case .number(let number): return String(number)
        case .decimal(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(\.compact).joined(separator: ",") + "]"
        case .object(let fields): return "{" + fields.map { Self.asciiQuote($0.0) + ":" + $0.1.compact }.joined(separator: ",") + "}"
        }
    }

    static func asciiQuote(_ text: String) -> String {
        var output = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: output += "\\\""
            case 0x5C: output += "\\\\"
            case 0x0A: output += "\\n"
            case 0x0D: output += "\\r"
            case 0x09: output += "\\t"
            case 0x08: output += "\\b"
            case 0x0C: output += "\\f"
            case 0x20..<0x7F: output.unicodeScalars.append(Unicode.Scalar(unit)!)
            default: output += "\\u" + String(repeating: "0", count: 4 - String(unit, radix: 16).count) + String(unit, radix: 16)
            }
        }
        return output + "\""
    }
}

struct JSONTextParser {
    let scalars: [Unicode.Scalar]
    var position = 0

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    var atEnd: Bool { position >= scalars.count }

    func fail(_ what: String) -> JSONValue.ParseError { JSONValue.ParseError(description: "\(what) at character \(position)") }

    mutating func skipSpace() {
        while !atEnd, [" ", "\t", "\n", "\r"].contains(scalars[position]) { position += 1 }
    }

    mutating func value() throws -> JSONValue {
        skipSpace()
        guard !atEnd else { throw fail("a value was expected") }
        switch scalars[position] {
        case "{":
            position += 1
            var fields: [(String, JSONValue)] = []
            skipSpace()
            if !atEnd, scalars[position] == "}" { position += 1; return .object(fields) }
            while true {
                skipSpace()
                guard !atEnd, scalars[position] == "\"" else { throw fail("a key was expected") }
                let key = try string()
                skipSpace()
                guard !atEnd, scalars[position] == ":" else { throw fail("':' was expected") }
                position += 1
                let item = try value()
                if let index = fields.firstIndex(where: { $0.0 == key }) { fields[index].1 = item } else { fields.append((key, item)) }
                skipSpace()
                guard !atEnd else { throw fail("'}' was expected") }
                if scalars[position] == "," { position += 1; continue }
                guard scalars[position] == "}" else { throw fail("',' or '}' was expected") }
                position += 1
                return .object(fields)
            }
        case "[":
            position += 1
            var items: [JSONValue] = []
            skipSpace()
            if !atEnd, scalars[position] == "]" { position += 1; return .array(items) }
            while true {
                items.append(try value())
                skipSpace()
                guard !atEnd else { throw fail("']' was expected") }
                if scalars[position] == "," { position += 1; continue }
                guard scalars[position] == "]" else { throw fail("',' or ']' was expected") }
                position += 1
                return .array(items)
            }
        case "\"": return .string(try string())
        case "t": return try word("true", .bool(true))
        case "f": return try word("false", .bool(false))
        case "n": return try word("null", .null)
        default: return try number()
        }
    }

    mutating func word(_ text: String, _ value: JSONValue) throws -> JSONValue {
        let end = position + text.unicodeScalars.count
        guard end <= scalars.count, String(String.UnicodeScalarView(scalars[position..<end])) == text else { throw fail("a value was expected") }
        position = end
        return value
    }

    mutating func number() throws -> JSONValue {
        let start = position
        if !atEnd, scalars[position] == "-" { position += 1 }
        var fraction = false
        while !atEnd, "0123456789.eE+-".unicodeScalars.contains(scalars[position]) {
            if [".", "e", "E"].contains(scalars[position]) { fraction = true }
            position += 1
        }
        let text = String(String.UnicodeScalarView(scalars[start..<position]))
        // RFC 8259's grammar: no leading zeros, digits on both sides of the point.
        guard text.wholeMatch(of: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/) != nil else { throw fail("'\(text)' is not a JSON number") }
        if !fraction, let integer = Int(text) { return .number(integer) }
        guard let decimal = Double(text) else { throw fail("'\(text)' is not a JSON number") }
        return .decimal(decimal)
    }

    mutating func string() throws -> String {
        position += 1  // the opening quote
        var units: [UInt16] = []
        while true {
            guard !atEnd else { throw fail("an unterminated string") }
            let scalar = scalars[position]
            position += 1
            switch scalar {
            case "\"": return String(decoding: units, as: UTF16.self)
            case "\\":
                guard !atEnd else { throw fail("an unterminated escape") }
                let escaped = scalars[position]
                position += 1
                switch escaped {
                case "\"": units.append(0x22)
                case "\\": units.append(0x5C)
                case "/": units.append(0x2F)
                case "b": units.append(0x08)
                case "f": units.append(0x0C)
                case "n": units.append(0x0A)
                case "r": units.append(0x0D)
                case "t": units.append(0x09)
                case "u":
                    guard position + 4 <= scalars.count, let unit = UInt16(String(String.UnicodeScalarView(scalars[position..<(position + 4)])), radix: 16) else {
                        throw fail("a bad \\u escape")
                    }
                    position += 4
                    units.append(unit)
                default: throw fail("a bad escape")
                }
            default:
                guard scalar.value >= 0x20 else { throw fail("a control character in a string") }
                units.append(contentsOf: String(scalar).utf16)
            }
        }
    }
}
