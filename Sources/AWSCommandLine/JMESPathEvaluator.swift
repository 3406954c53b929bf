import ControlClient
import ControlContract
import Foundation

/// Evaluates a parsed JMESPath expression, with JMESPath's built-in functions and their type rules
/// (a wrong type is an error, as in jmespath.py).
struct JMESPathEvaluator {
    func fail(_ what: String) -> JMESPath.Invalid { JMESPath.Invalid(description: "--query: \(what)") }

    func evaluate(_ node: JMESPathNode, _ value: JSONValue) throws -> JSONValue {
        switch node {
        case .current: return value
        case .field(let name): return value[name] ?? .null
        case .literal(let literal): return literal
        case .subexpression(let left, let right), .indexExpression(let left, let right):
            return try evaluate(right, evaluate(left, value))
        case .index(let index):
            guard case .array(let items) = value else { return .null }
            let position = index < 0 ? items.count + index : index
            return items.indices.contains(position) ? items[position] : .null
        case .slice(let start, let stop, let step):
            guard case .array(let items) = value else { return .null }
            return .array(try Self.slice(items, start, stop, step ?? 1))
        case .projection(let left, let right):
            guard case .array(let items) = try evaluate(left, value) else { return .null }
            return .array(try items.map { try evaluate(right, $0) }.filter { $0 != .null })
        case .valueProjection(let left, let right):
            guard case .object(let fields) = try evaluate(left, value) else { return .null }
            return .array(try fields.map { try evaluate(right, $0.1) }.filter { $0 != .null })
        case .filterProjection(let left, let right, let condition):
            guard case .array(let items) = try evaluate(left, value) else { return .null }
            return .array(try items.filter { try Self.isTrue(evaluate(condition, $0)) }.map { try evaluate(right, $0) }.filter { $0 != .null })
        case .flatten(let inner):
            guard case .array(let items) = try evaluate(inner, value) else { return .null }
            return .array(items.flatMap { item -> [JSONValue] in if case .array(let nested) = item { nested } else { [item] } })
        case .pipe(let left, let right): return try evaluate(right, evaluate(left, value))
        case .or(let left, let right):
            let first = try evaluate(left, value)
            return Self.isTrue(first) ? first : try evaluate(right, value)
        case .and(let left, let right):
            let first = try evaluate(left, value)
            return Self.isTrue(first) ? try evaluate(right, value) : first
        case .not(let inner): return .bool(!Self.isTrue(try evaluate(inner, value)))
        case .comparison(let op, let left, let right):
            return Self.compare(op, try evaluate(left, value), try evaluate(right, value))
        case .multiselectList(let items):
            if value == .null { return .null }
            return .array(try items.map { try evaluate($0, value) })
        case .multiselectHash(let pairs):
            if value == .null { return .null }
            return .object(try pairs.map { ($0.0, try evaluate($0.1, value)) })
        case .function(let name, let arguments):
            return try call(name, arguments, value)
        case .expressionReference:
            throw fail("an expression reference (&…) is only an argument of sort_by, max_by, min_by or map")
        }
    }

    /// Python's slice of a list: negative positions from the end, bounds clamped, any step but 0.
    static func slice(_ items: [JSONValue], _ start: Int?, _ stop: Int?, _ step: Int) throws -> [JSONValue] {
        guard step != 0 else { throw JMESPath.Invalid(description: "--query: a slice step cannot be 0") }
        let count = items.count
        func clamp(_ position: Int?, _ fallback: Int) -> Int {
            guard var position else { return fallback }
            if position < 0 { position += count }
            return step > 0 ? min(max(position, 0), count) : min(max(position, -1), count - 1)
        }
        var result: [JSONValue] = []
        var position = clamp(start, step > 0 ? 0 : count - 1)
        let end = clamp(stop, step > 0 ? count : -1)
        while step > 0 ? position < end : position > end {
            result.append(items[position])
            position += step
        }
        return result
    }

    /// JMESPath's truth: false, null and empty strings, arrays and objects are false.
    static func isTrue(_ value: JSONValue) -> Bool {
        switch value {
        case .null, .bool(false): false
        case .string(let text): !text.isEmpty
        case .array(let items): !items.isEmpty
        case .object(let fields): !fields.isEmpty
        default: true
        }
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let number): Double(number)
        case .decimal(let number): number
        default: nil
        }
    }

    /// Equality as JSON's (objects whatever their key order; 1 equals 1.0; true is not 1).
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = number(a), let y = number(b) { return x == y }
        switch (a, b) {
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case let (.object(x), .object(y)):
            return x.count == y.count && x.allSatisfy { field in y.contains { $0.0 == field.0 && equal($0.1, field.1) } }
        default: return a == b
        }
    }

    /// `==` and `!=` on anything; the orderings on two numbers or two strings, else null.
    static func compare(_ op: JMESPathToken, _ a: JSONValue, _ b: JSONValue) -> JSONValue {
        switch op {
        case .eq: return .bool(equal(a, b))
        case .ne: return .bool(!equal(a, b))
        default: break
        }
        let order: Int
        if let x = number(a), let y = number(b) {
            order = x < y ? -1 : x > y ? 1 : 0
        } else if case .string(let x) = a, case .string(let y) = b {
            order = Self.codePointOrder(x, y)
        } else {
            return .null
        }
        switch op {
        case .lt: return .bool(order < 0)
        case .lte: return .bool(order <= 0)
        case .gt: return .bool(order > 0)
        default: return .bool(order >= 0)
        }
    }

    /// Strings ordered by code point, as Python orders them.
    static func codePointOrder(_ a: String, _ b: String) -> Int {
        for (x, y) in zip(a.unicodeScalars, b.unicodeScalars) where x != y { return x.value < y.value ? -1 : 1 }
        let (m, n) = (a.unicodeScalars.count, b.unicodeScalars.count)
        return m < n ? -1 : m > n ? 1 : 0
    }
}
