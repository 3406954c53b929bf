import ControlClient
import ControlContract

/// JMESPath (jmespath.org), as the aws CLI's `--query` evaluates it: fields, indexes, slices,
/// projections (`[]`, `[*]`, `*`, filters `[?…]`), flatten, pipes, multiselect lists and hashes,
/// literals, comparisons, `&&` `||` `!`, and the built-in functions. The parser follows the
/// reference implementation's binding powers (jmespath.py, which the aws CLI runs), and the tests
/// compare answers with it expression by expression.
public enum JMESPath {
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func evaluate(_ expression: String, on value: JSONValue) throws -> JSONValue {
        try JMESPathEvaluator().evaluate(try parse(expression), value)
    }

    static func parse(_ expression: String) throws -> JMESPathNode {
        var parser = JMESPathParser(tokens: try JMESPathLexer.tokens(expression), expression: expression)
        return try parser.parseWhole()
    }
}

/// A parsed expression.
indirect enum JMESPathNode {
    case current
    case field(String)
    case literal(JSONValue)
    case subexpression(JMESPathNode, JMESPathNode)
    case index(Int)
    case slice(Int?, Int?, Int?)
    /// The left side, then the index or slice applied to its value.
    case indexExpression(JMESPathNode, JMESPathNode)
    /// The right side applied to each element of the left side's array (nulls dropped).
    case projection(JMESPathNode, JMESPathNode)
    /// The same over an object's values.
    case valueProjection(JMESPathNode, JMESPathNode)
    case filterProjection(JMESPathNode, JMESPathNode, condition: JMESPathNode)
    case flatten(JMESPathNode)
    case pipe(JMESPathNode, JMESPathNode)
    case or(JMESPathNode, JMESPathNode)
    case and(JMESPathNode, JMESPathNode)
    case not(JMESPathNode)
    case comparison(JMESPathToken, JMESPathNode, JMESPathNode)
    case multiselectList([JMESPathNode])
    case multiselectHash([(String, JMESPathNode)])
    case function(String, [JMESPathNode])
    case expressionReference(JMESPathNode)
}

enum JMESPathToken: Equatable {
    case identifier(String), quotedIdentifier(String), number(Int), literal(JSONValue)
    case dot, star, flatten, filter, lbracket, rbracket, lbrace, rbrace, lparen, rparen, comma, colon
    case pipe, or, and, not, eq, ne, lt, lte, gt, gte, current, expref, end

    /// How strongly a token binds to what is on its left (jmespath.py's table).
    var bindingPower: Int {
        switch self {
        case .pipe: 1
        case .or: 2
        case .and: 3
        case .eq, .ne, .lt, .lte, .gt, .gte: 5
        case .flatten: 9
        case .star: 20
        case .filter: 21
        case .dot: 40
        case .not: 45
        case .lbrace: 50
        case .lbracket: 55
        case .lparen: 60
        default: 0
        }
    }
}

enum JMESPathLexer {
    static func tokens(_ expression: String) throws -> [JMESPathToken] {
        let scalars = Array(expression.unicodeScalars)
        var tokens: [JMESPathToken] = []
        var index = 0
        func fail(_ what: String) -> JMESPath.Invalid { JMESPath.Invalid(description: "--query: \(what) at column \(index) of '\(expression)'") }
        func peek(_ offset: Int = 1) -> Unicode.Scalar? { index + offset < scalars.count ? scalars[index + offset] : nil }
        /// Text up to the closing `delimiter` (a backslash escapes it); index ends past the delimiter.
        func delimited(_ delimiter: Unicode.Scalar) throws -> String {
            var text = String.UnicodeScalarView()
            index += 1
            while index < scalars.count, scalars[index] != delimiter {
                if scalars[index] == "\\", index + 1 < scalars.count {
                    text.append(scalars[index])
                    index += 1
                }
                text.append(scalars[index])
                index += 1
            }
            guard index < scalars.count else { throw fail("an unterminated \(delimiter)") }
            index += 1
            return String(text)
        }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case " ", "\t", "\n", "\r": index += 1
            case "a"..."z", "A"..."Z", "_":
                var name = String.UnicodeScalarView()
                while index < scalars.count, ("a"..."z").contains(scalars[index]) || ("A"..."Z").contains(scalars[index])
                        || ("0"..."9").contains(scalars[index]) || scalars[index] == "_" {
                    name.append(scalars[index])
                    index += 1
                }
                tokens.append(.identifier(String(name)))
            case "0"..."9", "-":
                var digits = String.UnicodeScalarView([scalar])
                index += 1
                while index < scalars.count, ("0"..."9").contains(scalars[index]) { digits.append(scalars[index]); index += 1 }
                guard let number = Int(String(digits)) else { throw fail("'\(String(digits))' is not a number") }
                tokens.append(.number(number))
            case "\"":
                let body = try delimited("\"")
                guard case .string(let name) = try JSONValue.parse("\"" + body + "\"") else { throw fail("a bad quoted identifier") }
                tokens.append(.quotedIdentifier(name))
            case "'":
                // A raw string: only \' is an escape.
                tokens.append(.literal(.string(try delimited("'").replacingOccurrences(of: "\\'", with: "'"))))
            case "`":
                let body = try delimited("`").replacingOccurrences(of: "\\`", with: "`")
                // As jmespath.py: text that is not JSON is read as a string (a deprecated form).
                let value = (try? JSONValue.parse(body)) ?? (try? JSONValue.parse("\"" + body.drop { $0 == " " } + "\""))
                guard let value else { throw fail("a bad JSON literal `\(body)`") }
                tokens.append(.literal(value))
            case "[":
                switch peek() {
                case "]": tokens.append(.flatten); index += 2
                case "?": tokens.append(.filter); index += 2
                default: tokens.append(.lbracket); index += 1
                }
            case "|":
                if peek() == "|" { tokens.append(.or); index += 2 } else { tokens.append(.pipe); index += 1 }
            case "&":
                if peek() == "&" { tokens.append(.and); index += 2 } else { tokens.append(.expref); index += 1 }
            case "!":
                if peek() == "=" { tokens.append(.ne); index += 2 } else { tokens.append(.not); index += 1 }
            case "=":
                guard peek() == "=" else { throw fail("'=' (did you mean '=='?)") }
                tokens.append(.eq)
                index += 2
            case "<":
                if peek() == "=" { tokens.append(.lte); index += 2 } else { tokens.append(.lt); index += 1 }
            case ">":
                if peek() == "=" { tokens.append(.gte); index += 2 } else { tokens.append(.gt); index += 1 }
            default:
                let single: [Unicode.Scalar: JMESPathToken] = [".": .dot, "*": .star, "]": .rbracket, "{": .lbrace, "}": .rbrace,
                                                               "(": .lparen, ")": .rparen, ",": .comma, ":": .colon, "@": .current]
                guard let token = single[scalar] else { throw fail("unexpected '\(scalar)'") }
                tokens.append(token)
                index += 1
            }
        }
        return tokens + [.end]
    }
}

/// A Pratt parser over the tokens, as jmespath.py's.
struct JMESPathParser {
    let tokens: [JMESPathToken]
    let expression: String
    var position = 0

    init(tokens: [JMESPathToken], expression: String) {
        self.tokens = tokens
        self.expression = expression
    }

    var current: JMESPathToken { tokens[position] }
    func lookahead(_ offset: Int) -> JMESPathToken { tokens[min(position + offset, tokens.count - 1)] }

    func fail(_ what: String) -> JMESPath.Invalid { JMESPath.Invalid(description: "--query: \(what) in '\(expression)'") }

    mutating func advance() -> JMESPathToken {
        defer { position = min(position + 1, tokens.count - 1) }
        return tokens[position]
    }

    mutating func expect(_ token: JMESPathToken) throws {
        guard current == token else { throw fail("expected \(token), found \(current)") }
        position += 1
    }

    mutating func parseWhole() throws -> JMESPathNode {
        let node = try parse(0)
        guard current == .end else { throw fail("unexpected \(current)") }
        return node
    }

    mutating func parse(_ bindingPower: Int) throws -> JMESPathNode {
        var left = try nud(advance())
        while bindingPower < current.bindingPower { left = try led(advance(), left) }
        return left
    }

    mutating func nud(_ token: JMESPathToken) throws -> JMESPathNode {
        switch token {
        case .literal(let value): return .literal(value)
        case .identifier(let name): return .field(name)
        case .quotedIdentifier(let name):
            guard current != .lparen else { throw fail("a quoted identifier cannot name a function") }
            return .field(name)
        case .star: return .valueProjection(.current, try projectionRight(JMESPathToken.star.bindingPower))
        case .filter: return try filter(left: .current)
        case .lbrace: return try multiselectHash()
        case .lparen:
            let inner = try parse(0)
            try expect(.rparen)
            return inner
        case .flatten: return .projection(.flatten(.current), try projectionRight(JMESPathToken.flatten.bindingPower))
        case .not: return .not(try parse(JMESPathToken.not.bindingPower))
        case .lbracket:
            if case .number = current { return try projectIfSlice(.current, try indexExpression()) }
            if current == .colon { return try projectIfSlice(.current, try indexExpression()) }
            if current == .star, lookahead(1) == .rbracket {
                position += 2
                return .projection(.current, try projectionRight(JMESPathToken.star.bindingPower))
            }
            return try multiselectList()
        case .current: return .current
        case .expref: return .expressionReference(try parse(JMESPathToken.expref.bindingPower))
        default: throw fail("unexpected \(token)")
        }
    }

    mutating func led(_ token: JMESPathToken, _ left: JMESPathNode) throws -> JMESPathNode {
        switch token {
        case .dot:
            if current == .star {
                position += 1
                return .valueProjection(left, try projectionRight(JMESPathToken.dot.bindingPower))
            }
            return .subexpression(left, try dotRight(JMESPathToken.dot.bindingPower))
        case .pipe: return .pipe(left, try parse(JMESPathToken.pipe.bindingPower))
        case .or: return .or(left, try parse(JMESPathToken.or.bindingPower))
        case .and: return .and(left, try parse(JMESPathToken.and.bindingPower))
        case .lparen:
            guard case .field(let name) = left else { throw fail("only a name can be called as a function") }
            var arguments: [JMESPathNode] = []
            while current != .rparen {
                arguments.append(try parse(0))
                if current == .comma { position += 1 } else if current != .rparen { throw fail("expected ',' or ')'") }
            }
            position += 1
            return .function(name, arguments)
        case .filter: return try filter(left: left)
        case .eq, .ne, .lt, .lte, .gt, .gte: return .comparison(token, left, try parse(token.bindingPower))
        case .flatten: return .projection(.flatten(left), try projectionRight(JMESPathToken.flatten.bindingPower))
        case .lbracket:
            if case .number = current { return try projectIfSlice(left, try indexExpression()) }
            if current == .colon { return try projectIfSlice(left, try indexExpression()) }
            try expect(.star)
            try expect(.rbracket)
            return .projection(left, try projectionRight(JMESPathToken.star.bindingPower))
        default: throw fail("unexpected \(token)")
        }
    }

    mutating func filter(left: JMESPathNode) throws -> JMESPathNode {
        let condition = try parse(0)
        try expect(.rbracket)
        let right: JMESPathNode = current == .flatten ? .current : try projectionRight(JMESPathToken.filter.bindingPower)
        return .filterProjection(left, right, condition: condition)
    }

    /// What follows a projection: nothing (identity), or the rest that applies to each element.
    mutating func projectionRight(_ bindingPower: Int) throws -> JMESPathNode {
        if current.bindingPower < 10 { return .current }
        switch current {
        case .lbracket, .filter: return try parse(bindingPower)
        case .dot:
            position += 1
            return try dotRight(bindingPower)
        default: throw fail("unexpected \(current) after a projection")
        }
    }

    mutating func dotRight(_ bindingPower: Int) throws -> JMESPathNode {
        switch current {
        case .identifier, .quotedIdentifier, .star: return try parse(bindingPower)
        case .lbracket:
            position += 1
            return try multiselectList()
        case .lbrace:
            position += 1
            return try multiselectHash()
        default: throw fail("unexpected \(current) after '.'")
        }
    }

    /// `[N]` or `[start:stop:step]`, the opening bracket consumed.
    mutating func indexExpression() throws -> JMESPathNode {
        if lookahead(0) == .colon || lookahead(1) == .colon {
            var parts: [Int?] = [nil, nil, nil]
            var part = 0
            while current != .rbracket, part < 3 {
                switch advance() {
                case .colon: part += 1
                case .number(let number): parts[part] = number
                default: throw fail("a slice takes numbers")
                }
            }
            try expect(.rbracket)
            return .slice(parts[0], parts[1], parts[2])
        }
        guard case .number(let number) = advance() else { throw fail("an index must be a number") }
        try expect(.rbracket)
        return .index(number)
    }

    mutating func projectIfSlice(_ left: JMESPathNode, _ right: JMESPathNode) throws -> JMESPathNode {
        let indexed = JMESPathNode.indexExpression(left, right)
        if case .slice = right { return .projection(indexed, try projectionRight(JMESPathToken.star.bindingPower)) }
        return indexed
    }

    mutating func multiselectList() throws -> JMESPathNode {
        var items: [JMESPathNode] = []
        repeat {
            items.append(try parse(0))
            if current == .comma { position += 1; continue }
            try expect(.rbracket)
            return .multiselectList(items)
        } while true
    }

    mutating func multiselectHash() throws -> JMESPathNode {
        var pairs: [(String, JMESPathNode)] = []
        repeat {
            let key: String
            switch advance() {
            case .identifier(let name), .quotedIdentifier(let name): key = name
            default: throw fail("a multiselect hash needs names as keys")
            }
            try expect(.colon)
            pairs.append((key, try parse(0)))
            if current == .comma { position += 1; continue }
            try expect(.rbrace)
            return .multiselectHash(pairs)
        } while true
    }
}
