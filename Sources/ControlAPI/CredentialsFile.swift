import Foundation

/// The access keys the TCP API accepts, in the aws CLI's credentials format (one or more sections
/// with `aws_access_key_id` and `aws_secret_access_key`), in a file only its owner may read.
public enum CredentialsFile {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Access key id → secret.
    public static func load(path: String) throws -> [String: String] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Invalid(description: "cannot read the credentials file \(path)")
        }
        let mode = (attributes[.posixPermissions] as? Int) ?? 0o777
        guard mode & 0o077 == 0 else {
            throw Invalid(description: "\(path) is readable by others (mode \(String(mode, radix: 8))): chmod 600 \(path)")
        }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String = "credentials") throws -> [String: String] {
        var keys: [String: String] = [:]
        var pending: (id: String?, secret: String?) = (nil, nil)
        func flush() throws {
            switch pending {
            case (nil, nil): break
            case let (id?, secret?): keys[id] = secret
            default: throw Invalid(description: "\(source): every section needs aws_access_key_id and aws_secret_access_key")
            }
            pending = (nil, nil)
        }
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty && !line.hasPrefix("#") {
            if line.hasPrefix("[") { try flush(); continue }
            let pair = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { throw Invalid(description: "\(source): cannot read '\(line)'") }
            switch pair[0] {
            case "aws_access_key_id": pending.id = pair[1]
            case "aws_secret_access_key": pending.secret = pair[1]
            default: break
            }
        }
        try flush()
        guard !keys.isEmpty else { throw Invalid(description: "\(source) holds no access key") }
        return keys
    }
}
