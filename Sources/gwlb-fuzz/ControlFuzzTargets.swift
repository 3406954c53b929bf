import Catalog
import Console
import ControlClient
import ControlContract
import ControlInput
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The control side's targets: what clients, operators' files and gwlbd's answers feed it.
extension FuzzTarget {
    static func query(_ bytes: UnsafeRawBufferPointer) {
        guard let request = try? QueryRequest(body: String(decoding: bytes, as: UTF8.self)) else { return }
        precondition(!request.action.isEmpty && !request.parameters.keys.contains(""), "a request without action or with a nameless parameter")
        // Every list and structure the parameters name, as the actions read them (each name once:
        // reading one walks all parameters).
        let names = Set(request.parameters.keys.compactMap { key in key.range(of: ".member.").map { String(key[..<$0.lowerBound]) } })
        for name in names {
            if let values = try? request.list(name) { precondition(values.count <= request.parameters.count, "more members than parameters") }
            if let fields = try? request.structures(name) { precondition(fields.count <= request.parameters.count, "more structures than parameters") }
        }
        // EC2's lists (`Name.N`, `Name.N.Field`): every first component names one.
        for name in Set(request.parameters.keys.compactMap { $0.split(separator: ".").first.map(String.init) }) {
            if let values = try? request.ec2List(name) { precondition(values.count <= request.parameters.count, "more items than parameters") }
            if let fields = try? request.ec2Structures(name) { precondition(fields.count <= request.parameters.count, "more items than parameters") }
        }
        for key in request.parameters.keys {
            _ = try? request.int(key)
            _ = try? request.bool(key)
        }
    }

    static let verifier = SignatureV4Verifier(region: "us-east-1", credentials: ["AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"])

    static func signature(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        let (head, body) = text.range(of: "\n\n").map { (text[..<$0.lowerBound], text[$0.upperBound...]) } ?? (text[...], "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { return }
        // "METHOD PATH[?QUERY]", then "name: value" lines.
        let requestLine = lines.removeFirst().split(separator: " ", maxSplits: 1)
        let target = requestLine.count > 1 ? requestLine[1] : "/"
        let (path, query) = target.firstIndex(of: "?").map { (target[..<$0], target[target.index(after: $0)...]) } ?? (target, "")
        let headers: [(String, String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        let request = SignatureV4Verifier.Request(method: String(requestLine.first ?? ""), path: String(path), query: String(query),
                                                  headers: headers, body: Data(body.utf8))
        // "Now" is the request's own date, so stale dates do not stop the fuzzer short of the
        // canonical request.
        let date = request.headers.first { $0.0 == "x-amz-date" }.flatMap { SignatureV4Verifier.parse($0.1) } ?? Date()
        _ = try? verifier.verify(request, now: date)
    }

    static func credentials(_ bytes: UnsafeRawBufferPointer) {
        guard let keys = try? CredentialsFile.parse(String(decoding: bytes, as: UTF8.self)) else { return }
        precondition(!keys.isEmpty, "a credentials file accepted without a key")
    }

    static func configuration(_ bytes: UnsafeRawBufferPointer) {
        for form in [DaemonConfiguration.Form.file, .api] {
            guard let configuration = try? DaemonConfiguration.parse(Data(bytes), form: form) else { continue }
            // What the rest of gwlbd relies on without checking again.
            precondition((1...64).contains(configuration.workers) && configuration.flowsPerWorker >= 1, "workers or table size out of range")
            precondition((1280...9216).contains(configuration.endpointMTU), "endpoint MTU out of range")
            precondition(form == .api || (1...255).contains(configuration.endpoints.count), "endpoint count out of range")
            precondition(configuration.endpoints.allSatisfy { (1...15).contains($0.interface.utf8.count) }, "interface name out of range")
            precondition(configuration.targets.count <= 300 && Set(configuration.targets).count == configuration.targets.count, "targets out of range")
        }
    }

    /// The input is a stream's body as gwlbd "sends" it (the HTTP around it is AsyncHTTPClient's
    /// and SwiftNIO's, fuzzed by them): split into lines as the client does, in pieces of the
    /// sizes the first byte picks, each line decoded and applied to the console's model.
    static func stream(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return }
        let piece = Int(first) + 1
        var splitter = LineSplitter(limit: 4096)
        var model = ConsoleModel()
        var rest = bytes.dropFirst()
        while !rest.isEmpty {
            guard let lines = try? splitter.append(rest.prefix(piece)) else { return }
            rest = rest.dropFirst(piece)
            for line in lines {
                if let message = try? ContractCoding.decode(StreamMessage.self, from: Data(line.utf8)) { model.apply(message, at: 1) }
            }
        }
    }
}
