/// The part of JMESPath that `--query` is used for with the aws CLI: fields, indexes (negative from
/// the end) and list projections, e.g. `LoadBalancers[0].LoadBalancerArn` or
/// `TargetHealthDescriptions[].TargetHealth.State`. Anything else is refused, not guessed.
public enum JMESPath {
    enum Step: Equatable {
        case field(String)
        case index(Int)
        /// `[]` (flattens one level) or `[*]`: the rest applies to each element; nulls drop out.
        case project(flatten: Bool)
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func evaluate(_ expression: String, on value: JSONValue) throws -> JSONValue {
        evaluate(try parse(expression)[...], value)
    }

    static func parse(_ expression: String) throws -> [Step] {
        let fail = Invalid(description: "--query supports fields, [N], [] and [*] (as in Items[0].Name); cannot read '\(expression)'")
        var steps: [Step] = []
        for part in expression.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            let name = rest.prefix { $0 != "[" }
            rest = rest.dropFirst(name.count)
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw fail }
            if !name.isEmpty { steps.append(.field(String(name))) } else if rest.isEmpty { throw fail }
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]") else { throw fail }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                switch inside {
                case "": steps.append(.project(flatten: true))
                case "*": steps.append(.project(flatten: false))
                default:
                    guard let index = Int(inside) else { throw fail }
                    steps.append(.index(index))
                }
                rest = rest[rest.index(after: close)...]
            }
        }
        return steps
    }

    static func evaluate(_ steps: ArraySlice<Step>, _ value: JSONValue) -> JSONValue {
        guard let step = steps.first else { return value }
        let rest = steps.dropFirst()
        switch step {
        case .field(let name):
            guard let field = value[name] else { return .null }
            return evaluate(rest, field)
        case .index(let index):
            guard case .array(let items) = value else { return .null }
            let position = index < 0 ? items.count + index : index
            return items.indices.contains(position) ? evaluate(rest, items[position]) : .null
        case .project(let flatten):
            guard case .array(let items) = value else { return .null }
            let elements = flatten ? items.flatMap { item -> [JSONValue] in if case .array(let inner) = item { inner } else { [item] } } : items
            return .array(elements.map { evaluate(rest, $0) }.filter { $0 != .null })
        }
    }
}
