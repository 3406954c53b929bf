import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The access keys the TCP API accepts, in the aws CLI's credentials format (one or more sections
/// with `aws_access_key_id` and `aws_secret_access_key`), in a file only its owner may read.
public enum CredentialsFile {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Access key id → secret.
    /// Reads the file through one descriptor (no link followed), and checks that descriptor: it
    /// must belong to the user gwlbd runs as and be readable by nobody else.
    public static func load(path: String) throws -> [String: String] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Invalid(description: "cannot read the credentials file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw Invalid(description: "the credentials file \(path) is not a regular file")
        }
        let mode = Int(status.st_mode & 0o777)
        guard mode & 0o077 == 0 else {
            throw Invalid(description: "\(path) is readable by others (mode \(String(mode, radix: 8))): chmod 600 \(path)")
        }
        guard status.st_uid == geteuid() else {
            throw Invalid(description: "\(path) belongs to uid \(status.st_uid), not to gwlbd's user (uid \(geteuid())): chown it")
        }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { break }
            data += buffer[..<count]
            guard data.count <= 1 << 20 else { throw Invalid(description: "the credentials file \(path) is larger than 1 MiB") }
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
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
