import Catalog
import Foundation

/// An elbv2 Query-protocol request (README "The control plane"): `Action=…&Version=2015-12-01&…`, form-encoded,
/// with lists as `Name.member.N` (1-based) and structures as `Name.member.N.Field`.
public struct QueryRequest: Hashable, Sendable {
    public static let version = "2015-12-01"
    /// EC2's Query API (endpoint services, VPC endpoints, route tables): README "The EC2 API".
    public static let ec2Version = "2016-11-15"
    /// Requests larger than this are refused before parsing.
    public static let maximumBodyLength = 1 << 20

    public let action: String
    public let parameters: [String: String]

    /// Parses a form-encoded body (or query string).
    public init(body: String) throws(ELBError) {
        guard body.utf8.count <= Self.maximumBodyLength else {
            throw ELBError(.validationError, "The request is larger than \(Self.maximumBodyLength) bytes")
        }
        var parameters: [String: String] = [:]
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else {
                throw ELBError(.malformedQueryString, "The query string has a malformed percent-escape near '\(pair.prefix(40))'")
            }
            guard !key.isEmpty else { throw ELBError(.malformedQueryString, "The query string has a parameter without a name") }
            parameters[key] = value
        }
        guard let action = parameters["Action"], !action.isEmpty else {
            throw ELBError(.missingAction, "The request must contain the parameter Action")
        }
        if let version = parameters["Version"], version != Self.version, version != Self.ec2Version {
            throw ELBError(.validationError, "Version must be \(Self.version) (elbv2) or \(Self.ec2Version) (EC2), the API versions gwlb speaks")
        }
        self.action = action
        self.parameters = parameters
    }

    /// Form decoding: `+` is a space, `%XX` a byte; the bytes must be UTF-8.
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Parameters

    public func string(_ name: String) -> String? { parameters[name] }

    /// An EC2 request: its Version says so (the aws CLI and botocore always send one).
    public var isEC2: Bool { parameters["Version"] == Self.ec2Version }

    /// EC2's list shape: `Name.1`, `Name.2` … (no `.member.`), in order.
    public func ec2List(_ name: String) throws(ELBError) -> [String] {
        try ec2Structures(name).map { fields throws(ELBError) in
            guard let value = fields[""], fields.count == 1 else {
                throw ELBError(.validationError, "\(name).N must be a value, not a structure")
            }
            return value
        }
    }

    /// EC2's list of structures: `Name.N.Field` (a field may itself be `Field.M`), by member, in order.
    /// A plain value `Name.N` comes as the field "".
    public func ec2Structures(_ name: String) throws(ELBError) -> [[String: String]] {
        var result: [Int: [String: String]] = [:]
        let prefix = "\(name)."
        for (key, value) in parameters where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            let parts = rest.split(separator: ".", maxSplits: 1)
            guard let first = parts.first, let index = Int(first), index >= 1, index <= 1000 else {
                throw ELBError(.validationError, "\(key) must look like \(name).N with N from 1 to 1000")
            }
            result[index, default: [:]][parts.count == 2 ? String(parts[1]) : ""] = value
        }
        return result.keys.sorted().map { result[$0]! }
    }

    /// A required parameter.
    public func required(_ name: String) throws(ELBError) -> String {
        guard let value = parameters[name], !value.isEmpty else {
            throw ELBError(.validationError, "\(action) needs the parameter \(name)")
        }
        return value
    }

    public func int(_ name: String) throws(ELBError) -> Int? {
        guard let text = parameters[name] else { return nil }
        guard let value = Int(text) else { throw ELBError(.validationError, "\(name) must be an integer, not '\(text)'") }
        return value
    }

    public func bool(_ name: String) throws(ELBError) -> Bool? {
        guard let text = parameters[name] else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw ELBError(.validationError, "\(name) must be true or false, not '\(text)'")
        }
    }

    /// `Name.member.1`, `Name.member.2` …, in member order.
    public func list(_ name: String) throws(ELBError) -> [String] {
        try members(name).map { index, suffix throws(ELBError) in
            guard suffix.isEmpty, let value = parameters["\(name).member.\(index)"] else {
                throw ELBError(.validationError, "\(name).member.\(index) must be a value, not a structure")
            }
            return value
        }
    }

    /// `Name.member.N.Field` structures, in member order, each as its fields.
    public func structures(_ name: String) throws(ELBError) -> [[String: String]] {
        var result: [Int: [String: String]] = [:]
        let prefix = "\(name).member."
        for (key, value) in parameters where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            let parts = rest.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let index = Int(parts[0]), index >= 1 else {
                throw ELBError(.validationError, "\(key) must look like \(name).member.N.Field")
            }
            result[index, default: [:]][String(parts[1])] = value
        }
        return result.keys.sorted().map { result[$0]! }
    }

    /// Member numbers of `name` in order, with what follows each number.
    private func members(_ name: String) throws(ELBError) -> [(Int, Substring)] {
        let prefix = "\(name).member."
        var found: [(Int, Substring)] = []
        for key in parameters.keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            let number = rest.prefix { $0.isNumber }
            guard let index = Int(number), index >= 1 else {
                throw ELBError(.validationError, "\(key) must look like \(name).member.N with N from 1")
            }
            found.append((index, rest.dropFirst(number.count)))
        }
        return found.sorted { $0.0 < $1.0 }
    }
}
