import Foundation
import Lab
import Testing
@testable import AWSCommandLine
@testable import ControlClient
import ControlContract
import TestTraits

/// `--query` against the reference: each expression is evaluated by gwlb's JMESPath and by Python's
/// `jmespath` (the library the aws CLI runs, installed with it), on the same document; the answers
/// must be equal (as JSON: key order aside, 1 equal to 1.0, true not 1), and an expression one
/// refuses the other must refuse too.
@Suite(.blocking) struct JMESPathDifferentialTests {
    static let document = #"""
    {
      "TargetHealthDescriptions": [
        {"Target": {"Id": "198.18.1.11", "Port": 6081}, "HealthCheckPort": "80", "TargetHealth": {"State": "healthy"}},
        {"Target": {"Id": "198.18.1.12", "Port": 6081}, "HealthCheckPort": "80",
         "TargetHealth": {"State": "unhealthy", "Reason": "Target.Timeout", "Description": "Request timed out"}},
        {"Target": {"Id": "198.18.1.13", "Port": 6081}, "HealthCheckPort": "80",
         "TargetHealth": {"State": "draining", "Reason": "Target.DeregistrationInProgress"}}
      ],
      "LoadBalancers": [
        {"LoadBalancerName": "egress", "Type": "gateway", "AvailabilityZones": [{"ZoneName": "a"}, {"ZoneName": "b"}]},
        {"LoadBalancerName": "east-west", "Type": "gateway", "AvailabilityZones": [{"ZoneName": "c"}]}
      ],
      "numbers": [3, -1, 4.5, 0, 10],
      "ints": [5, 2, 9, 2],
      "words": ["delta", "alpha", "charlie", "bravo", "alpha"],
      "nested": [[1, 2], [3, [4, 5]], 6, []],
      "mixed": [1, "a", null, true, {"k": 1}, [2]],
      "flags": {"a": true, "b": false, "c": null, "d": "", "e": 0, "f": [], "g": {}},
      "empty": [],
      "unicode": "h\u00e9llo w\u00f6rld",
      "objects": [{"name": "x", "size": 3, "tags": ["a", "b"]}, {"name": "y", "size": 1, "tags": []}, {"name": "z", "size": 2}],
      "dotted": {"a.b": 1, "with space": 2}
    }
    """#

    static let expressions = [
        // Fields, indexes, slices.
        "TargetHealthDescriptions[0].Target.Id", "TargetHealthDescriptions[-1].TargetHealth.Reason", "TargetHealthDescriptions[5]",
        "nope", "nope.deeper", "numbers[0]", "numbers[-2]", "ints[1:3]", "ints[::2]", "ints[::-1]", "ints[-2:]", "ints[:-1]",
        "ints[10:]", "ints[1:1]", "words[3:0:-1]", "ints[:]", "ints[0:4:3]", "\"dotted\".\"a.b\"", "dotted.\"with space\"",
        "unicode", "flags.a", "flags.c", "@", "@.numbers[0]",
        // Projections.
        "TargetHealthDescriptions[].TargetHealth.State", "TargetHealthDescriptions[*].TargetHealth.Reason",
        "TargetHealthDescriptions[*].Target", "LoadBalancers[].AvailabilityZones[].ZoneName", "LoadBalancers[*].AvailabilityZones[*].ZoneName",
        "LoadBalancers[].AvailabilityZones[0].ZoneName", "flags.*", "dotted.*", "objects[*].tags[0]", "objects[].tags[]",
        "nested[]", "nested[][]", "nested[*]", "mixed[*].k", "mixed[]", "ints[1:3].foo", "ints[:2][0]",
        "TargetHealthDescriptions[].Target.Id | [0]", "TargetHealthDescriptions[].Target.Id[0]", "*.Target", "objects[*].name | sort(@)",
        // Filters and comparisons.
        "TargetHealthDescriptions[?TargetHealth.State=='healthy'].Target.Id",
        "TargetHealthDescriptions[?TargetHealth.State!='healthy'].Target.Id",
        "TargetHealthDescriptions[?TargetHealth.Reason].Target.Id", "TargetHealthDescriptions[?!TargetHealth.Reason].Target.Id",
        "TargetHealthDescriptions[?TargetHealth.State=='unhealthy' || TargetHealth.State=='draining'].Target.Id",
        "TargetHealthDescriptions[?TargetHealth.State=='unhealthy' && Target.Port==`6081`].Target.Id",
        "objects[?size > `1`].name", "objects[?size >= `2`].name", "objects[?size < `2`].name", "objects[?size <= `1`].name",
        "objects[?tags].name", "objects[?length(tags || `[]`) > `0`].name", "numbers[?@ > `0`]", "numbers[?@ == `4.5`]",
        "words[?@ > 'bravo']", "ints[?@ != `2`]", "mixed[?@]", "objects[?name == 'y'] | [0].size", "objects[?size == `3`][].tags[]",
        "LoadBalancers[?LoadBalancerName=='egress'].AvailabilityZones[].ZoneName",
        "`1` < `2`", "'a' < 'b'", "`true` == `true`", "`1` == `1.0`", "`[1, 2]` == `[1, 2]`", "`{\"a\": 1}` == `{\"a\": 1}`",
        "flags.a == `true`", "flags.e == `false`",
        // Logic and truth.
        "flags.b || flags.a", "flags.c || 'fallback'", "flags.d || flags.e", "flags.f && 'x'", "flags.g || `5`", "!flags.a", "!flags.e",
        "!flags.f", "flags.a && flags.e", "nope || nope2", "(flags.a || flags.b) && 'both'",
        // Multiselect.
        "TargetHealthDescriptions[].[Target.Id, TargetHealth.State]", "TargetHealthDescriptions[].{id: Target.Id, state: TargetHealth.State}",
        "{first: ints[0], last: ints[-1]}", "[ints[0], words[0]]", "nope.[a, b]", "nope.{a: a}", "objects[0].{n: name, t: tags[0]}",
        // Literals and raw strings.
        "`\"literal\"`", "'raw string'", "'it\\'s'", "`[1, 2, 3]`", "`{\"k\": [true, null]}`", "`3.25`", "`-4`",
        // Pipes.
        "TargetHealthDescriptions | length(@)", "ints | sort(@) | [0]", "objects[*].size | sum(@)", "words | [1:3]",
        // Functions.
        "length(words)", "length(unicode)", "length(flags)", "abs(`-3`)", "abs(numbers[1])", "avg(ints)", "avg(empty)", "ceil(`4.2`)",
        "floor(`4.8`)", "floor(numbers[2])", "contains(words, 'alpha')", "contains(unicode, 'llo')", "contains(ints, `9`)",
        "starts_with(unicode, 'hé')", "ends_with(unicode, 'rld')", "join(', ', words)", "keys(dotted)", "values(dotted)",
        "max(ints)", "min(numbers)", "max(words)", "min(empty)", "max_by(objects, &size).name", "min_by(objects, &size).name",
        "max_by(objects, &name).name", "sort_by(objects, &size)[*].name", "sort_by(objects, &name)[*].size", "sort(words)", "sort(numbers)",
        "reverse(words)", "reverse(unicode)", "sum(numbers)", "sum(ints)", "sum(empty)", "to_array(`1`)", "to_array(words)",
        "to_number('42')", "to_number('4.5')", "to_number('abc')", "to_number(`true`)", "to_string(`1`)", "to_string(ints)",
        "to_string(objects[0])", "to_string(unicode)", "type(words)", "type(flags.c)", "type(numbers[2])", "type(flags.a)",
        "not_null(flags.c, nope, 'third')", "not_null(nope)", "merge(`{\"a\": 1}`, `{\"b\": 2}`, `{\"a\": 3}`)",
        "map(&size, objects)", "map(&tags[0], objects)", "map(&length(@), words)", "length(TargetHealthDescriptions[?TargetHealth.State=='healthy'])",
        "sort_by(TargetHealthDescriptions, &TargetHealth.State)[].Target.Id", "keys(@) | sort(@) | [0:3]",
        // Errors both sides must refuse.
        "ints[", "[?", "foo bar", "length(words, words)", "no_such_function(@)", "abs('x')", "sort(mixed)", "sum(words)",
        "ints[::0]", "join(',', ints)", "max_by(objects, &tags)", "keys(words)", "'unterminated", "a.=b", "\"q\"(@)",
    ]

    /// Python's answer for each expression: {"ok": value} or {"error": name}.
    static func reference() throws -> [[String: Any]] {
        // The document's own text, so Python reads its keys in their order (as gwlb does).
        let list = String(decoding: try JSONSerialization.data(withJSONObject: expressions), as: UTF8.self)
        let spec = Data("{\"document\": \(document), \"expressions\": \(list)}".utf8)
        let path = NSTemporaryDirectory() + "jmespath-\(UUID().uuidString).json"
        try spec.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script = """
            import json, sys
            import jmespath, jmespath.exceptions
            spec = json.load(open(sys.argv[1]))
            out = []
            for expression in spec["expressions"]:
                try:
                    out.append({"ok": jmespath.search(expression, spec["document"])})
                except (jmespath.exceptions.JMESPathError, ValueError) as error:  # ValueError: a slice step of 0
                    out.append({"error": type(error).__name__})
            print(json.dumps(out))
            """
        let result = try Shell.execute(["python3", "-c", script, path])
        guard result.status == 0, let answers = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]] else {
            throw JMESPath.Invalid(description: "Python's jmespath did not run (pip install awscli installs it, as .ci/run does): \(result.errors)")
        }
        return answers
    }

    @Test func everyExpressionAnswersAsPythonsJMESPath() throws {
        #expect(Self.expressions.count >= 100)
        let document = try JSONValue.parse(Self.document)
        let answers = try Self.reference()
        #expect(answers.count == Self.expressions.count)
        var refused = 0
        for (expression, answer) in zip(Self.expressions, answers) {
            let ours = Result { try JMESPath.evaluate(expression, on: document) }
            if answer["error"] != nil {
                refused += 1
                if case .success(let value) = ours { Issue.record("'\(expression)': jmespath refuses it (\(answer["error"]!)), gwlb answered \(value.compact)") }
                continue
            }
            let expected = try JSONValue.parse(String(decoding: JSONSerialization.data(withJSONObject: answer["ok"] ?? NSNull(), options: [.fragmentsAllowed]),
                                                      as: UTF8.self))
            switch ours {
            case .success(let value):
                #expect(JMESPathEvaluator.equal(value, expected) && Self.sameTypes(value, expected),
                        "'\(expression)': gwlb \(value.compact), jmespath \(expected.compact)")
            case .failure(let error):
                Issue.record("'\(expression)': gwlb refused it (\(error)), jmespath answered \(expected.compact)")
            }
        }
        #expect(refused >= 10, "the refusals are tested too")
    }

    /// Equal as JMESPath compares, and of the same JSON types throughout (a boolean is not a number).
    static func sameTypes(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { sameTypes($0, $1) }
        case let (.object(x), .object(y)): return x.allSatisfy { field in y.contains { $0.0 == field.0 && sameTypes($0.1, field.1) } }
        default: return JMESPathEvaluator.typeName(a) == JMESPathEvaluator.typeName(b)
        }
    }
}
