import Foundation
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

/// One API call as CloudTrail records it (SPEC.md §7).
public struct AuditEvent: @unchecked Sendable {
    // @unchecked: the parameters and response are JSON values built and read on one thread.
    public var time: Date
    public var eventName: String
    public var caller: AuditCaller
    public var region: String
    public var account: String
    /// The call's parameters, nested as CloudTrail shows them (lists as arrays).
    public var requestParameters: [String: Any]?
    /// What a call that changes something returned; nil for reads.
    public var responseElements: [String: Any]?
    public var requestID: String
    public var readOnly: Bool
    public var errorCode: String?
    public var errorMessage: String?

    public init(time: Date = Date(), eventName: String, caller: AuditCaller, region: String, account: String,
                requestParameters: [String: Any]?, responseElements: [String: Any]?, requestID: String, readOnly: Bool,
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
    public var json: [String: Any] {
        var identity: [String: Any] = ["type": caller.type, "principalId": caller.principalId, "accountId": account]
        if let name = caller.userName { identity["userName"] = name }
        if let key = caller.accessKeyId { identity["accessKeyId"] = key }
        var object: [String: Any] = [
            "eventVersion": "1.08",
            "userIdentity": identity,
            "eventTime": Self.timestamp(time),
            "eventSource": "elasticloadbalancing.amazonaws.com",
            "eventName": eventName,
            "awsRegion": region,
            "sourceIPAddress": caller.sourceIPAddress,
            "userAgent": caller.userAgent,
            "requestParameters": requestParameters ?? NSNull(),
            "responseElements": responseElements ?? NSNull(),
            "requestID": requestID,
            "eventID": UUID().uuidString.lowercased(),
            "readOnly": readOnly,
            "eventType": "AwsApiCall",
            "apiVersion": "2015-12-01",
            "managementEvent": true,
            "eventCategory": "Management",
            "recipientAccountId": account,
        ]
        if let errorCode { object["errorCode"] = errorCode }
        if let errorMessage { object["errorMessage"] = errorMessage }
        return object
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// The audit trail: one JSON object per line, appended and fsynced before the call is answered,
/// so an acknowledged call is on disk. Calls from every thread are written one at a time.
public final class AuditTrail: Sendable {
    public let path: String
    private let descriptor: Mutex<Int32>

    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TelemetryFileError(description: "cannot open the audit trail \(path): \(String(cString: strerror(errno)))") }
        descriptor = Mutex(fd)
    }

    deinit { descriptor.withLock { close($0) } }

    /// Appends `event`; false when the disk refused it (the caller logs that, the call still stands).
    @discardableResult
    public func record(_ event: AuditEvent) -> Bool {
        guard var line = try? JSONSerialization.data(withJSONObject: event.json, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return false
        }
        line.append(0x0A)
        return descriptor.withLock { fd in
            let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            return written == line.count && fsync(fd) == 0
        }
    }
}
