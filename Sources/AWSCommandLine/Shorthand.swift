import ControlClient

/// The aws CLI's shorthand syntax for one structure: `Key=value,Other=a,b` (a value without a key
/// continues the previous key's list), `Key=[a,b]`, `Key=[{K=v,K2=w},{…}]`, `Key={K=v}`.
enum Shorthand {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) throws -> [String: Any] {
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
        mutating func structure(closing: Character?) throws -> [String: Any] {
            var fields: [String: Any] = [:]
            var order: [String] = []
            var lastKey: String?
            while let character = current, character != closing {
                let token = scalar(stoppingAt: ["=", ","] + (closing.map { [$0] } ?? []))
                if current == "=" {
                    index += 1
                    let key = token.trimmingCharacters(in: " ")
                    guard !key.isEmpty else { throw Invalid(description: "expected key=value") }
                    fields[key] = try value(closing: closing)
                    order.append(key)
                    lastKey = key
                } else if let key = lastKey, !token.isEmpty {
                    // `Values=a,b`: b continues the list.
                    var list = fields[key] as? [Any] ?? [fields[key]!]
                    list.append(token)
                    fields[key] = list
                } else {
                    throw Invalid(description: "expected key=value, got '\(token)'")
                }
                if current == "," { index += 1 }
            }
            return fields
        }

        mutating func value(closing: Character?) throws -> Any {
            switch current {
            case "[":
                index += 1
                var items: [Any] = []
                while current != "]" {
                    guard current != nil else { throw Invalid(description: "missing ']'") }
                    if current == "{" {
                        index += 1
                        items.append(try structure(closing: "}"))
                        guard current == "}" else { throw Invalid(description: "missing '}'") }
                        index += 1
                    } else {
                        items.append(scalar(stoppingAt: [",", "]"]))
                    }
                    if current == "," { index += 1 }
                }
                index += 1
                return items
            case "{":
                index += 1
                let fields = try structure(closing: "}")
                guard current == "}" else { throw Invalid(description: "missing '}'") }
                index += 1
                return fields
            default:
                return scalar(stoppingAt: [","] + (closing.map { [$0] } ?? []))
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
