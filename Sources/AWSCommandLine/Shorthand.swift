import ControlContract

/// The aws CLI's shorthand syntax for one structure: `Key=value,Other=a,b` (a value without a key
/// continues the previous key's list), `Key=[a,b]`, `Key=[{K=v,K2=w},{…}]`, `Key={K=v}`.
enum Shorthand {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// The structure as a JSON object, its keys in the order written.
    static func parse(_ text: String) throws -> JSONValue {
        var parser = Parser(characters: Array(text))
        let value = try parser.structure(closing: nil)
        guard parser.index == parser.characters.count else { throw Invalid(description: "unexpected '\(parser.characters[parser.index])'") }
        return value
    }

    private struct Parser {
        let characters: [Character]
        var index = 0

        var current: Character? { index < characters.count ? characters[index] : nil }

        /// `Key=value,…` up to `closing` (or the end).
        mutating func structure(closing: Character?) throws -> JSONValue {
            var fields: [(String, JSONValue)] = []
            var lastKey: String?
            while let character = current, character != closing {
                let token = scalar(stoppingAt: ["=", ","] + (closing.map { [$0] } ?? []))
                if current == "=" {
                    index += 1
                    let key = token.trimmingCharacters(in: " ")
                    guard !key.isEmpty else { throw Invalid(description: "expected key=value") }
                    let parsed = try value(closing: closing)
                    if let index = fields.firstIndex(where: { $0.0 == key }) { fields[index].1 = parsed } else { fields.append((key, parsed)) }
                    lastKey = key
                } else if let key = lastKey, !token.isEmpty, let index = fields.firstIndex(where: { $0.0 == key }) {
                    // `Values=a,b`: b continues the list.
                    if case .array(let list) = fields[index].1 {
                        fields[index].1 = .array(list + [.string(token)])
                    } else {
                        fields[index].1 = .array([fields[index].1, .string(token)])
                    }
                } else {
                    throw Invalid(description: "expected key=value, got '\(token)'")
                }
                if current == "," { index += 1 }
            }
            return .object(fields)
        }

        mutating func value(closing: Character?) throws -> JSONValue {
            switch current {
            case "[":
                index += 1
                var items: [JSONValue] = []
                while current != "]" {
                    guard current != nil else { throw Invalid(description: "missing ']'") }
                    if current == "{" {
                        index += 1
                        items.append(try structure(closing: "}"))
                        guard current == "}" else { throw Invalid(description: "missing '}'") }
                        index += 1
                    } else {
                        items.append(.string(scalar(stoppingAt: [",", "]"])))
                    }
                    if current == "," { index += 1 }
                }
                index += 1
                return .array(items)
            case "{":
                index += 1
                let fields = try structure(closing: "}")
                guard current == "}" else { throw Invalid(description: "missing '}'") }
                index += 1
                return fields
            default:
                return .string(scalar(stoppingAt: [","] + (closing.map { [$0] } ?? [])))
            }
        }

        mutating func scalar(stoppingAt stops: [Character]) -> String {
            var text = ""
            while let character = current, !stops.contains(character) {
                text.append(character)
                index += 1
            }
            return text
        }
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
