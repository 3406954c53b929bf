import ControlClient
import ControlContract
import Foundation

/// `gwlb <elbv2-verb> …`: the aws CLI's `aws elbv2 <verb> …` against gwlbd's Unix socket.
public enum ELBCommandLine {
    public static let defaultSocketPath = "/run/gwlb/gwlb.sock"

    /// The aws CLI's exit codes: 252 for a command line it cannot parse, 254 for a service error,
    /// 255 when it cannot reach the service.
    public enum ExitCode {
        public static let usage: Int32 = 252
        public static let serviceError: Int32 = 254
        public static let unreachable: Int32 = 255
    }

    public static func isVerb(_ word: String) -> Bool { ELBOperation.named(word) != nil }

    /// The aws CLI's global options may come before the verb (`gwlb --socket PATH describe-…`, as
    /// `aws --output text elbv2 describe-…`), and `elbv2` may name the service: this puts the
    /// command first and those options after it, where its parser reads them. Anything else
    /// stays in place.
    public static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        let valued: Set = ["--socket", "--output", "--query"], flags: Set = ["--no-paginate"]
        var global: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if valued.contains(first), rest.count >= 2 {
                global += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if flags.contains(first) {
                global.append(first)
                rest = rest.dropFirst()
            } else if first == "elbv2" {
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        guard let command = rest.first else { return global }
        return [command] + global + rest.dropFirst()
    }

    /// Runs one verb; writes its output to `standardOutput` and errors to standard error.
    public static func run(_ verb: String, _ arguments: [String], ec2: Bool = false,
                           standardOutput: (String) -> Void = { print($0, terminator: "") }) -> Int32 {
        guard let operation = ec2 ? ELBOperation.ec2Named(verb) : ELBOperation.named(verb) else {
            report("unknown verb \(verb)")
            return ExitCode.usage
        }
        if arguments.contains("--help") || arguments.contains("-h") {
            standardOutput(help(operation))
            return 0
        }
        let parsed: ELBArguments
        do {
            parsed = try ELBArguments(arguments, for: operation)
        } catch {
            report("\(error)\nusage: gwlb \(operation.service == .ec2 ? "ec2 " : "")\(operation.verb) \(synopsis(operation))")
            return ExitCode.usage
        }
        let socketPath = parsed.socketPath ?? ProcessInfo.processInfo.environment["GWLB_SOCKET"] ?? defaultSocketPath
        do {
            var result = try call(operation, parsed, client: ELBClient(socketPath: socketPath))
            if let query = parsed.query { result = try JMESPath.evaluate(query, on: result) }
            standardOutput(OutputFormat.render(result, as: parsed.output, title: operation.action))
            return 0
        } catch let error as ELBClient.APIError {
            report("\n\(error)")
            return ExitCode.serviceError
        } catch {
            report("\(error)")
            return ExitCode.unreachable
        }
    }

    /// One call, or for the describe verbs every page merged into one list (as the aws CLI does
    /// unless told `--no-paginate`, or given a `--marker` of its own).
    static func call(_ operation: ELBOperation, _ arguments: ELBArguments, client: ELBClient) throws -> JSONValue {
        let ec2 = operation.service == .ec2, marker = operation.pageMarker
        var result = try client.call(operation.action, arguments.parameters, ec2: ec2)
        guard let member = operation.paginated, arguments.paginate, !arguments.parameters.contains(where: { $0.0 == marker.request }) else {
            return result
        }
        while case .string(let position)? = result[marker.answer], case .object(var fields) = result {
            let next = try client.call(operation.action, arguments.parameters + [(marker.request, position)], ec2: ec2)
            guard case .array(let more)? = next[member], let index = fields.firstIndex(where: { $0.0 == member }),
                  case .array(let items) = fields[index].1 else { break }
            fields[index].1 = .array(items + more)
            fields.removeAll { $0.0 == marker.answer }
            if let nextPosition = next[marker.answer] { fields.append((marker.answer, nextPosition)) }
            result = .object(fields)
        }
        return result
    }

    static func synopsis(_ operation: ELBOperation) -> String {
        operation.parameters.map { parameter in
            let value = switch parameter.kind {
            case .string: "<value>"
            case .integer: "<integer>"
            case .boolean: ""
            case .strings: "<value> [<value>...]"
            case .structure: "Key=value,..."
            case .structures: "Key=value,... [Key=value,...]"
            }
            let flag = parameter.kind == .boolean ? "--\(parameter.flag) | --no-\(parameter.flag)" : "--\(parameter.flag) \(value)"
            return parameter.required ? flag : "[\(flag)]"
        }.joined(separator: " ")
    }

    static func help(_ operation: ELBOperation) -> String {
        if operation.service == .ec2 {
            return """
            usage: gwlb ec2 \(operation.verb) \(synopsis(operation))
                        [--output json|table|text] [--query EXPRESSION] [--socket PATH]\(operation.paginated == nil ? "" : " [--no-paginate]")

            The EC2 \(operation.action) operation, as `aws ec2 \(operation.verb)` takes it, sent to gwlbd's
            Unix socket (--socket, else $GWLB_SOCKET, else \(defaultSocketPath)).

            """
        }
        return """
        usage: gwlb \(operation.verb) \(synopsis(operation))
                    [--output json|table|text] [--query EXPRESSION] [--socket PATH]\(operation.paginated == nil ? "" : " [--no-paginate]")

        The elbv2 \(operation.action) operation, as `aws elbv2 \(operation.verb)` takes it, sent to gwlbd's
        Unix socket (--socket, else $GWLB_SOCKET, else \(defaultSocketPath)).

        """
    }

    /// Every verb, for `gwlb --help`.
    public static var verbList: String {
        ELBOperation.all.map(\.verb).joined(separator: ", ")
    }

    /// Every EC2 verb (`gwlb ec2 VERB`), for `gwlb --help`.
    public static var ec2VerbList: String {
        ELBOperation.ec2.map(\.verb).joined(separator: ", ")
    }

    private static func report(_ message: String) {
        StandardError.print(message)
    }
}
