import ControlClient
import ControlContract
import Foundation

/// JMESPath's built-in functions, with the reference implementation's argument types: a wrong
/// type or count is an error that names the function.
extension JMESPathEvaluator {
    func call(_ name: String, _ arguments: [JMESPathNode], _ value: JSONValue) throws -> JSONValue {
        let arity: [String: ClosedRange<Int>] = [
            "abs": 1...1, "avg": 1...1, "ceil": 1...1, "contains": 2...2, "ends_with": 2...2, "floor": 1...1, "join": 2...2,
            "keys": 1...1, "length": 1...1, "map": 2...2, "max": 1...1, "max_by": 2...2, "merge": 1...Int.max, "min": 1...1,
            "min_by": 2...2, "not_null": 1...Int.max, "reverse": 1...1, "sort": 1...1, "sort_by": 2...2, "starts_with": 2...2,
            "sum": 1...1, "to_array": 1...1, "to_number": 1...1, "to_string": 1...1, "type": 1...1, "values": 1...1,
        ]
        guard let expected = arity[name] else { throw fail("unknown function \(name)()") }
        guard expected.contains(arguments.count) else { throw fail("\(name)() takes \(expected.lowerBound == expected.upperBound ? "\(expected.lowerBound)" : "at least \(expected.lowerBound)") arguments, not \(arguments.count)") }
        // map, sort_by, max_by and min_by take an expression to apply, not its value.
        if ["map", "sort_by", "max_by", "min_by"].contains(name) {
            guard case .expressionReference(let expression) = name == "map" ? arguments[0] : arguments[1] else {
                throw fail("\(name)() takes an expression reference (&…)")
            }
            let subject = try evaluate(name == "map" ? arguments[1] : arguments[0], value)
            guard case .array(let items) = subject else { throw invalidType(name, subject) }
            return try byExpression(name, items, expression)
        }
        let values = try arguments.map { argument -> JSONValue in
            if case .expressionReference = argument { throw fail("\(name)() does not take an expression reference") }
            return try evaluate(argument, value)
        }
        return try apply(name, values)
    }

    func invalidType(_ name: String, _ value: JSONValue) -> JMESPath.Invalid {
        fail("invalid type for \(name)(): \(Self.typeName(value))")
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .number, .decimal: "number"
        case .string: "string"
        case .bool: "boolean"
        case .array: "array"
        case .object: "object"
        case .null: "null"
        }
    }

    func numbers(_ name: String, _ value: JSONValue) throws -> [JSONValue] {
        guard case .array(let items) = value, items.allSatisfy({ Self.number($0) != nil }) else { throw invalidType(name, value) }
        return items
    }

    func string(_ name: String, _ value: JSONValue) throws -> String {
        guard case .string(let text) = value else { throw invalidType(name, value) }
        return text
    }

    func apply(_ name: String, _ values: [JSONValue]) throws -> JSONValue {
        let first = values[0]
        switch name {
        case "abs":
            switch first {
            case .number(let number): return .number(abs(number))
            case .decimal(let number): return .decimal(abs(number))
            default: throw invalidType(name, first)
            }
        case "ceil", "floor":
            guard let number = Self.number(first) else { throw invalidType(name, first) }
            return .number(Int(name == "ceil" ? number.rounded(.up) : number.rounded(.down)))
        case "avg":
            let items = try numbers(name, first)
            guard !items.isEmpty else { return .null }
            return .decimal(items.compactMap(Self.number).reduce(0, +) / Double(items.count))
        case "sum":
            let items = try numbers(name, first)
            if items.allSatisfy({ if case .number = $0 { true } else { false } }) {
                return .number(items.reduce(0) { total, item in if case .number(let n) = item { total + n } else { total } })
            }
            return .decimal(items.compactMap(Self.number).reduce(0, +))
        case "contains":
            switch first {
            case .array(let items): return .bool(items.contains { Self.equal($0, values[1]) })
            case .string(let text):
                guard case .string(let needle) = values[1] else { return .bool(false) }
                return .bool(needle.isEmpty || text.contains(needle))
            default: throw invalidType(name, first)
            }
        case "starts_with", "ends_with":
            let text = try string(name, first), affix = try string(name, values[1])
            let (t, a) = (Array(text.unicodeScalars), Array(affix.unicodeScalars))
            guard a.count <= t.count else { return .bool(false) }
            return .bool(name == "starts_with" ? Array(t.prefix(a.count)) == a : Array(t.suffix(a.count)) == a)
        case "join":
            let separator = try string(name, first)
            guard case .array(let items) = values[1] else { throw invalidType(name, values[1]) }
            return .string(try items.map { try string(name, $0) }.joined(separator: separator))
        case "keys", "values":
            guard case .object(let fields) = first else { throw invalidType(name, first) }
            return .array(name == "keys" ? fields.map { .string($0.0) } : fields.map(\.1))
        case "length":
            switch first {
            case .string(let text): return .number(text.unicodeScalars.count)
            case .array(let items): return .number(items.count)
            case .object(let fields): return .number(fields.count)
            default: throw invalidType(name, first)
            }
        case "max", "min":
            guard case .array(let items) = first else { throw invalidType(name, first) }
            guard !items.isEmpty else { return .null }
            let strings = items.allSatisfy { if case .string = $0 { true } else { false } }
            guard strings || items.allSatisfy({ Self.number($0) != nil }) else { throw invalidType(name, first) }
            return items.dropFirst().reduce(items[0]) { best, item in
                let order = Self.order(item, best)
                return (name == "max" ? order > 0 : order < 0) ? item : best
            }
        case "merge":
            var merged: [(String, JSONValue)] = []
            for value in values {
                guard case .object(let fields) = value else { throw invalidType(name, value) }
                for (key, item) in fields {
                    if let index = merged.firstIndex(where: { $0.0 == key }) { merged[index].1 = item } else { merged.append((key, item)) }
                }
            }
            return .object(merged)
        case "not_null": return values.first { $0 != .null } ?? .null
        case "reverse":
            switch first {
            case .string(let text): return .string(String(String.UnicodeScalarView(text.unicodeScalars.reversed())))
            case .array(let items): return .array(items.reversed())
            default: throw invalidType(name, first)
            }
        case "sort":
            guard case .array(let items) = first else { throw invalidType(name, first) }
            let strings = items.allSatisfy { if case .string = $0 { true } else { false } }
            guard strings || items.allSatisfy({ Self.number($0) != nil }) else { throw invalidType(name, first) }
            return .array(Self.stableSorted(items) { Self.order($0, $1) < 0 })
        case "to_array":
            if case .array = first { return first }
            return .array([first])
        case "to_number":
            switch first {
            case .number, .decimal: return first
            case .string(let text):
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                if text.contains(".") { return Double(trimmed).map { .decimal($0) } ?? .null }
                return Int(trimmed).map { .number($0) } ?? .null
            default: return .null
            }
        case "to_string":
            if case .string = first { return first }
            return .string(first.compact)
        case "type": return .string(Self.typeName(first))
        default: throw fail("unknown function \(name)()")
        }
    }

    func byExpression(_ name: String, _ items: [JSONValue], _ expression: JMESPathNode) throws -> JSONValue {
        if name == "map" { return .array(try items.map { try evaluate(expression, $0) }) }
        let keys = try items.map { try evaluate(expression, $0) }
        let strings = keys.allSatisfy { if case .string = $0 { true } else { false } }
        guard strings || keys.allSatisfy({ Self.number($0) != nil }) else {
            throw fail("invalid type for \(name)(): the expression must give all numbers or all strings")
        }
        if name == "sort_by" {
            let sorted = Self.stableSorted(Array(zip(keys, items))) { Self.order($0.0, $1.0) < 0 }
            return .array(sorted.map(\.1))
        }
        guard !items.isEmpty else { return .null }
        var best = 0
        for index in keys.indices.dropFirst() {
            let order = Self.order(keys[index], keys[best])
            if name == "max_by" ? order > 0 : order < 0 { best = index }
        }
        return items[best]
    }

    /// Two numbers by value, two strings by code point.
    static func order(_ a: JSONValue, _ b: JSONValue) -> Int {
        if let x = number(a), let y = number(b) { return x < y ? -1 : x > y ? 1 : 0 }
        if case .string(let x) = a, case .string(let y) = b { return codePointOrder(x, y) }
        return 0
    }

    /// A stable sort (Python's is): equal elements keep their order.
    static func stableSorted<T>(_ items: [T], by less: (T, T) -> Bool) -> [T] {
        items.enumerated().sorted { less($0.element, $1.element) || (!less($1.element, $0.element) && $0.offset < $1.offset) }.map(\.element)
    }
}
