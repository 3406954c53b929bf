/// An error as the elbv2 API reports it: AWS's code, a message that says what to do, and the HTTP
/// status the Query protocol sends with it.
public struct ELBError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case targetGroupNotFound = "TargetGroupNotFound"
        case loadBalancerNotFound = "LoadBalancerNotFound"
        case listenerNotFound = "ListenerNotFound"
        case duplicateTargetGroupName = "DuplicateTargetGroupName"
        case duplicateLoadBalancerName = "DuplicateLoadBalancerName"
        case duplicateListener = "DuplicateListener"
        case invalidTarget = "InvalidTarget"
        case invalidConfigurationRequest = "InvalidConfigurationRequest"
        case operationNotPermitted = "OperationNotPermitted"
        case resourceInUse = "ResourceInUse"
        case tooManyTargets = "TooManyTargets"
        case tooManyListeners = "TooManyListeners"
        case tooManyTargetGroups = "TooManyTargetGroups"
        case tooManyLoadBalancers = "TooManyLoadBalancers"
        case tooManyTags = "TooManyTags"
        case duplicateTagKeys = "DuplicateTagKeys"
        case validationError = "ValidationError"
        case healthUnavailable = "HealthUnavailable"
        case priorRequestNotComplete = "PriorRequestNotComplete"
        /// gwlbd is handing over to a new process (a takeover): clients retry, as AWS's SDKs do on 503.
        case serviceUnavailable = "ServiceUnavailable"
        // gwlb's endpoint extension, named the way AWS names its resource errors.
        case endpointNotFound = "EndpointNotFound"
        case duplicateEndpoint = "DuplicateEndpoint"
        case tooManyEndpoints = "TooManyEndpoints"
        // Signature Version 4, on the TCP API.
        case missingAuthenticationToken = "MissingAuthenticationToken"
        case incompleteSignature = "IncompleteSignature"
        case signatureDoesNotMatch = "SignatureDoesNotMatch"
        case invalidClientTokenId = "InvalidClientTokenId"
        case requestExpired = "RequestExpired"
        // The Query protocol's own errors, for requests that are not valid elbv2 requests at all.
        case malformedQueryString = "MalformedQueryString"
        case missingAction = "MissingAction"
        case invalidAction = "InvalidAction"

        /// HTTP status of the error response (README "The control plane").
        public var httpStatus: Int {
            switch self {
            case .healthUnavailable: 500
            case .priorRequestNotComplete: 429
            case .serviceUnavailable: 503
            case .missingAuthenticationToken, .signatureDoesNotMatch, .invalidClientTokenId: 403
            default: 400
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func validation(_ message: String) -> ELBError { ELBError(.validationError, message) }
}
