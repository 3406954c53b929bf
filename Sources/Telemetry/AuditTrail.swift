import ControlContract
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A telemetry file (audit trail, flow log) that cannot be opened.
public struct TelemetryFileError: Error, CustomStringConvertible {
    public let description: String
}

/// Who made an API call, as the audit trail records it (CloudTrail's `userIdentity`,
/// `sourceIPAddress` and `userAgent`).
public struct AuditCaller: Sendable, Hashable {
    /// `LocalUser` on the Unix socket (its peer's uid), `IAMUser` on the signed TCP API.
    public var type: String
    /// The uid, or the access key's owner as the credentials file names it (its key id).
    public var principalId: String
    public var userName: String?
    public var accessKeyId: String?
    /// The TCP peer, or `unix:PATH` for the socket.
    public var sourceIPAddress: String
    public var userAgent: String

    public init(type: String, principalId: String, userName: String? = nil, accessKeyId: String? = nil,
                sourceIPAddress: String, userAgent: String) {
        self.type = type
        self.principalId = principalId
        self.userName = userName
        self.accessKeyId = accessKeyId
        self.sourceIPAddress = sourceIPAddress
        self.userAgent = userAgent
    }

    /// A caller on the Unix socket, known by its uid (SO_PEERCRED).
    public static func localUser(uid: UInt32?, socketPath: String, userAgent: String) -> AuditCaller {
        let name = uid.flatMap { uid in getpwuid(uid).map { String(cString: $0.pointee.pw_name) } }
        return AuditCaller(type: "LocalUser", principalId: uid.map { "uid:\($0)" } ?? "uid:unknown", userName: name,
                           sourceIPAddress: "unix:\(socketPath)", userAgent: userAgent)
    }
}

/// One API call as CloudTrail records it (README "Telemetry").
public struct AuditEvent: Sendable {
    public var time: Date
    public var eventName: String
    public var caller: AuditCaller
    public var region: String
    public var account: String
    /// The call's parameters, nested as CloudTrail shows them (lists as arrays).
    public var requestParameters: JSONValue?
    /// What a call that changes something returned; nil for reads.
    public var responseElements: JSONValue?
    public var requestID: String
    public var readOnly: Bool
    public var errorCode: String?
    public var errorMessage: String?
    /// CloudTrail's `additionalEventData`: for a refusal, how many refusals were left out before it.
    public var additionalEventData: [String: Int]?
    /// Which API: elbv2 (`elasticloadbalancing`, 2015-12-01) or EC2 (`ec2`, 2016-11-15).
    public var eventSource = "elasticloadbalancing.amazonaws.com"
    public var apiVersion = "2015-12-01"

    public init(time: Date = Date(), eventName: String, caller: AuditCaller, region: String, account: String,
                requestParameters: JSONValue?, responseElements: JSONValue?, requestID: String, readOnly: Bool,
                errorCode: String? = nil, errorMessage: String? = nil) {
        self.time = time
        self.eventName = eventName
        self.caller = caller
        self.region = region
        self.account = account
        self.requestParameters = requestParameters
        self.responseElements = responseElements
        self.requestID = requestID
        self.readOnly = readOnly
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    /// The JSON object, with CloudTrail's field names.
    public var json: JSONValue {
        var identity: [(String, JSONValue)] = [("type", .string(caller.type)), ("principalId", .string(caller.principalId)),
                                               ("accountId", .string(account))]
        if let name = caller.userName { identity.append(("userName", .string(name))) }
        if let key = caller.accessKeyId { identity.append(("accessKeyId", .string(key))) }
        var object: [(String, JSONValue)] = [
            ("eventVersion", "1.08"),
            ("userIdentity", .object(identity)),
            ("eventTime", .string(Self.timestamp(time))),
            ("eventSource", .string(eventSource)),
            ("eventName", .string(eventName)),
            ("awsRegion", .string(region)),
            ("sourceIPAddress", .string(caller.sourceIPAddress)),
            ("userAgent", .string(caller.userAgent)),
            ("requestParameters", requestParameters ?? .null),
            ("responseElements", responseElements ?? .null),
            ("requestID", .string(requestID)),
            ("eventID", .string(UUID().uuidString.lowercased())),
            ("readOnly", .bool(readOnly)),
            ("eventType", "AwsApiCall"),
            ("apiVersion", .string(apiVersion)),
            ("managementEvent", true),
            ("eventCategory", "Management"),
            ("recipientAccountId", .string(account)),
        ]
        if let errorCode { object.append(("errorCode", .string(errorCode))) }
        if let errorMessage { object.append(("errorMessage", .string(errorMessage))) }
        if let additionalEventData { object.append(("additionalEventData", .object(additionalEventData.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) }))) }
        return .object(object)
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// The audit trail: one JSON object per line, appended and fsynced before the call is answered,
/// so an acknowledged call is on disk. Calls from every thread are written one at a time. The file
/// is rotated (FILE → FILE.1 … FILE.keep) before it grows past `maxBytes`, so it is bounded.
/// Refused signatures, which anyone who reaches the TCP API can cause, are recorded at most
/// `refusalsPerSecond` a second (a burst of twice that), without fsync; the next one recorded says
/// how many were left out (`additionalEventData.suppressedRefusals`).
///
/// On a node of a cluster the acknowledged calls also go to the table every node writes
/// (`shared`), before the call is answered; refused signatures, whose number an unauthenticated
/// sender decides, stay in the node's file.
public final class AuditTrail: Sendable {
    public let path: String
    public let maxBytes: Int
    public let keep: Int
    /// Appends an event's JSON to the cluster's shared trail; nil for a single gwlbd.
    public let shared: (@Sendable (_ record: String) throws -> Void)?
    public static let refusalsPerSecond = 10

    struct File {
        var descriptor: Int32
        var size: Int
        /// Refusals that may still be written now, refilled with time, and those left out.
        var refusalTokens = Double(AuditTrail.refusalsPerSecond * 2)
        var refusalsRefilledAt = ContinuousClock.now
        var suppressedRefusals = 0
    }

    private let file: Mutex<File>

    public init(path: String, maxBytes: Int = 100 << 20, keep: Int = 5, shared: (@Sendable (_ record: String) throws -> Void)? = nil) throws {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        self.shared = shared
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        file = Mutex(try Self.open(path))
    }

    deinit { file.withLock { close($0.descriptor) } }

    private static func open(_ path: String) throws -> File {
        // Never through a link: whoever can write the directory must not redirect the trail.
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw TelemetryFileError(description: "cannot open the audit trail \(path): \(String(cString: strerror(errno)))") }
        var status = stat()
        fstat(fd, &status)
        return File(descriptor: fd, size: Int(status.st_size))
    }

    /// Appends `event` to the file (and the shared table); nil when it is everywhere, else what
    /// refused it (the caller logs that, the call still stands).
    @discardableResult
    public func record(_ event: AuditEvent) -> String? {
        let json = event.json.compact
        let line = Data((json + "\n").utf8)
        guard file.withLock({ file in append(line, to: &file, sync: true) }) else {
            return "\(path): \(String(cString: strerror(errno)))"
        }
        do { try shared?(json) } catch { return "the cluster's shared audit trail: \(error)" }
        return nil
    }

    /// Appends a refused call's event unless refusals come faster than `refusalsPerSecond`; false
    /// when it was left out (counted for the next one) or the disk refused it.
    @discardableResult
    public func recordRefusal(_ event: AuditEvent) -> Bool {
        file.withLock { file in
            let now = ContinuousClock.now
            let elapsed = now - file.refusalsRefilledAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            file.refusalTokens = min(Double(Self.refusalsPerSecond * 2), file.refusalTokens + seconds * Double(Self.refusalsPerSecond))
            file.refusalsRefilledAt = now
            guard file.refusalTokens >= 1 else {
                file.suppressedRefusals += 1
                return false
            }
            file.refusalTokens -= 1
            var event = event
            if file.suppressedRefusals > 0 { event.additionalEventData = ["suppressedRefusals": file.suppressedRefusals] }
            guard let line = Self.line(event) else { return false }
            file.suppressedRefusals = 0
            return append(line, to: &file, sync: false)
        }
    }

    private static func line(_ event: AuditEvent) -> Data? {
        Data((event.json.compact + "\n").utf8)
    }

    private func append(_ line: Data, to file: inout File, sync: Bool) -> Bool {
        if file.size + line.count > maxBytes, file.size > 0 { rotate(&file) }
        let written = line.withUnsafeBytes { write(file.descriptor, $0.baseAddress, $0.count) }
        if written > 0 { file.size += written }
        return written == line.count && (!sync || fsync(file.descriptor) == 0)
    }

    /// FILE → FILE.1 → … → FILE.keep (the oldest goes), then a new FILE.
    private func rotate(_ file: inout File) {
        fsync(file.descriptor)
        for generation in stride(from: keep - 1, through: 1, by: -1) {
            rename("\(path).\(generation)", "\(path).\(generation + 1)")
        }
        rename(path, path + ".1")
        guard let reopened = try? Self.open(path) else {
            Logger.gwlbd.error("cannot reopen the audit trail \(path) after rotating it: \(String(cString: strerror(errno)))")
            return
        }
        close(file.descriptor)
        let (tokens, refilled, suppressed) = (file.refusalTokens, file.refusalsRefilledAt, file.suppressedRefusals)
        file = reopened
        (file.refusalTokens, file.refusalsRefilledAt, file.suppressedRefusals) = (tokens, refilled, suppressed)
    }
}
