import Catalog
import ControlInput
import Foundation

/// Reading elbv2 parameters into our resource types.
extension QueryRequest {
    func arn(_ name: String) throws -> ARN {
        let text = try required(name)
        guard let arn = ARN(text) else { throw ELBError(.validationError, "'\(text)' is not a valid ARN for \(name)") }
        return arn
    }

    func arns(_ name: String) throws -> [ARN] {
        try list(name).map { text in
            guard let arn = ARN(text) else { throw ELBError(.validationError, "'\(text)' is not a valid ARN in \(name)") }
            return arn
        }
    }

    func tags() throws -> [Tag] {
        try structures("Tags").map { fields in
            guard let key = fields["Key"] else { throw ELBError(.validationError, "Every tag needs a Key") }
            return Tag(key: key, value: fields["Value"] ?? "")
        }
    }

    func attributeChanges() throws -> [(key: String, value: String)] {
        let changes = try structures("Attributes").map { fields in
            guard let key = fields["Key"], let value = fields["Value"] else {
                throw ELBError(.validationError, "Every attribute needs a Key and a Value")
            }
            return (key: key, value: value)
        }
        guard !changes.isEmpty else { throw ELBError(.validationError, "Attributes must name at least one attribute") }
        return changes
    }

    func targets() throws -> [(id: String, port: Int?)] {
        let targets = try structures("Targets").map { fields in
            guard let id = fields["Id"] else { throw ELBError(.validationError, "Every target needs an Id") }
            guard let port = fields["Port"] else { return (id: id, port: Int?.none) }
            guard let number = Int(port) else { throw ELBError(.validationError, "Target port '\(port)' must be an integer") }
            return (id: id, port: Optional(number))
        }
        return targets
    }

    /// A health check from the request's HealthCheck* parameters over `base`.
    func healthCheck(over base: HealthCheck = HealthCheck()) throws -> HealthCheck {
        var check = base
        if let text = string("HealthCheckProtocol") {
            guard let value = HealthCheck.HealthProtocol(rawValue: text.uppercased()) else {
                throw ELBError(.validationError, "HealthCheckProtocol must be TCP, HTTP or HTTPS")
            }
            check.healthProtocol = value
        }
        if let port = string("HealthCheckPort") { check.port = port }
        if let path = string("HealthCheckPath") { check.path = path }
        if let enabled = try bool("HealthCheckEnabled") { check.enabled = enabled }
        if let value = try int("HealthCheckIntervalSeconds") { check.intervalSeconds = value }
        if let value = try int("HealthCheckTimeoutSeconds") { check.timeoutSeconds = value }
        if let value = try int("HealthyThresholdCount") { check.healthyThreshold = value }
        if let value = try int("UnhealthyThresholdCount") { check.unhealthyThreshold = value }
        if let code = string("Matcher.HttpCode") { check.matcher = code }
        // A change to HTTP keeps AWS's defaults for path and matcher; back to TCP drops them.
        if check.healthProtocol == .tcp, string("HealthCheckProtocol") != nil {
            check.path = string("HealthCheckPath")
            check.matcher = string("Matcher.HttpCode")
        }
        return check
    }

    /// `Marker` and `PageSize` (1–400) over `items`: the page and the marker of the next one.
    func page<T>(_ items: [T]) throws -> (items: [T], nextMarker: String?) {
        let size = try int("PageSize") ?? 400
        guard (1...400).contains(size) else { throw ELBError(.validationError, "PageSize must be between 1 and 400") }
        let start: Int
        if let marker = string("Marker") {
            guard let offset = Int(marker), (0...items.count).contains(offset) else {
                throw ELBError(.validationError, "Marker '\(marker)' is not one this API gave out")
            }
            start = offset
        } else {
            start = 0
        }
        let end = min(items.count, start + size)
        return (Array(items[start..<end]), end < items.count ? String(end) : nil)
    }
}
