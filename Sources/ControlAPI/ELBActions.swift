import Catalog
import ControlContract
import ControlInput
import ControlPlane
import DataPlane
import Foundation
import Health
import Logging
import NIOPosix
import PacketIO
import Telemetry

/// The elbv2 operations of README "The control plane" over the control plane: a Query request in, AWS's XML out.
public struct ELBActions: Sendable {
    public let service: ControlPlaneService
    /// Instance id → IPv4 address, for `instance` target groups.
    public let instances: [String: String]
    /// Where every call is recorded, failures included (none in tests that do not ask).
    public let audit: AuditTrail?
    /// Why an endpoint (by interface) forwards nothing, when its device is gone; nil when it is in place.
    public var endpointFailure: @Sendable (String) -> String? = { _ in nil }
    /// The live flows a query matches: what a deregistration preview reads (none in tests that
    /// do not ask).
    public var flows: @Sendable (FlowQuery) -> [FlowRecord] = { _ in [] }
    /// Subnet and gateway ids → Linux interfaces, for route table associations (README "Route tables").
    public var interfaces: [String: String] = [:]
    /// Where Linux's routing differs from the route tables (none in tests that do not ask).
    public var routingDrift: @Sendable (ResourceCatalog) -> [RoutingDrift] = { _ in [] }

    /// Elements of an answer kept for the audit trail only: AWS's answer does not have them.
    static let auditOnly: Set<String> = ["DeregistrationPreview"]

    public init(service: ControlPlaneService, instances: [String: String] = [:], audit: AuditTrail? = nil) {
        self.service = service
        self.instances = instances
        self.audit = audit
    }

    /// An HTTP answer: status and XML body.
    public struct Response: Sendable {
        public let status: Int
        public let body: String
    }

    /// Answers one Query request; with an audit trail, records it there (as `caller`) before answering.
    /// `signedFor`: the service a signed request's credential scope names (the TCP API); an
    /// elbv2 call must be signed for `elasticloadbalancing`, an EC2 call (Version 2016-11-15) for `ec2`.
    public func handle(_ body: String, caller: AuditCaller? = nil, signedFor: String? = nil, requestID: String = UUID().uuidString.lowercased()) async -> Response {
        let parsing = Result { () throws(ELBError) in try QueryRequest(body: body) }
        if case .success(let parsed) = parsing, parsed.isEC2 {
            return await handleEC2(parsed, caller: caller, signedFor: signedFor, requestID: requestID)
        }
        var request: QueryRequest?
        var result: [XMLNode] = []
        var failure: (code: String, message: String)?
        let response: Response
        do {
            let parsed = try parsing.get()
            request = parsed
            if let signedFor, signedFor != "elasticloadbalancing" {
                throw ELBError(.signatureDoesNotMatch, "An elbv2 request must be signed for the service elasticloadbalancing, not \(signedFor)")
            }
            guard ELBOperation.action(parsed.action, service: .elbv2) != nil, let operation = Self.handlers[parsed.action] else {
                throw ELBError(.invalidAction, "Action '\(parsed.action)' is not an elbv2 operation gwlb supports")
            }
            result = try await operation(self, parsed)
            let answer = result.filter { !Self.auditOnly.contains($0.name) }
            response = Response(status: 200, body: QueryResponse.success(action: parsed.action, result: answer, requestID: requestID))
        } catch let error as ELBError {
            failure = (error.code.rawValue, error.message)
            response = Response(status: error.code.httpStatus, body: QueryResponse.error(code: error.code.rawValue, message: error.message, requestID: requestID))
        } catch {
            failure = ("InternalFailure", "\(error)")
            response = Response(status: 500, body: QueryResponse.error(code: "InternalFailure", message: "\(error)", requestID: requestID, type: "Receiver"))
        }
        if let audit {
            let caller = caller ?? AuditCaller(type: "LocalUser", principalId: "uid:unknown", sourceIPAddress: "internal", userAgent: "unknown")
            await record(in: audit, action: request?.action, parameters: request?.parameters, result: result, failure: failure,
                   caller: caller, requestID: requestID)
        }
        return response
    }

    /// One EC2 call: EC2's response and error shapes, recorded with eventSource `ec2.amazonaws.com`.
    private func handleEC2(_ request: QueryRequest, caller: AuditCaller?, signedFor: String?, requestID: String) async -> Response {
        var result: [XMLNode] = []
        var failure: (code: String, message: String, status: Int)?
        do {
            if let signedFor, signedFor != "ec2" {
                throw EC2Error("SignatureDoesNotMatch", "An EC2 request (Version \(QueryRequest.ec2Version)) must be signed for the service ec2, not \(signedFor)")
            }
            guard ELBOperation.action(request.action, service: .ec2) != nil, let operation = EC2Actions.handlers[request.action] else {
                throw EC2Error("InvalidAction", "The action \(request.action) is not valid for this web service (gwlb's EC2 API serves endpoint services, VPC endpoints and route tables)")
            }
            result = try await operation(self, request)
        } catch let error as EC2Error {
            failure = (error.code, error.message, error.httpStatus)
        } catch let error as ELBError {
            // The shared rules (a takeover's freeze, a full slot table, malformed parameters) in EC2's words.
            let code = error.code == .validationError ? "InvalidParameterValue" : error.code == .serviceUnavailable ? "Unavailable" : error.code.rawValue
            failure = (code, error.message, error.code.httpStatus)
        } catch let error as ControlPlaneService.RoutingFailure {
            failure = ("InvalidParameterValue", "Linux refused the routing this change needs, so nothing changed: \(error)", 400)
        } catch {
            failure = ("InternalError", "\(error)", 500)
        }
        if let audit {
            let caller = caller ?? AuditCaller(type: "LocalUser", principalId: "uid:unknown", sourceIPAddress: "internal", userAgent: "unknown")
            await record(in: audit, action: request.action, parameters: request.parameters, result: result,
                   failure: failure.map { ($0.code, $0.message) }, caller: caller, requestID: requestID, ec2: true)
        }
        if let failure {
            return Response(status: failure.status, body: EC2Shapes.error(code: failure.code, message: failure.message, requestID: requestID))
        }
        return Response(status: 200, body: EC2Shapes.success(action: request.action, result: result, requestID: requestID))
    }

    /// A refused signature is a call too: the TCP API records it here, without its parameters (an
    /// unauthenticated sender must not be able to fill the trail's disk with megabyte bodies).
    /// `body` is nil when the request was refused on its headers alone (its body never read). Of
    /// a body only the action's name is kept, and only when it names a real operation.
    /// Refusals go through the trail's rate limit (`AuditTrail.recordRefusal`).
    public func recordRefusal(_ error: ELBError, body: String?, caller: AuditCaller, requestID: String) {
        guard let audit else { return }
        // Only the start of the body is looked at: a refused request costs no parse of a megabyte.
        let action = body.flatMap { body in
            body.utf8.prefix(4096).split(separator: UInt8(ascii: "&")).lazy.compactMap { pair -> String? in
                let text = String(decoding: pair, as: UTF8.self)
                return text.hasPrefix("Action=") ? String(text.dropFirst("Action=".count)) : nil
            }.first
        }
        audit.recordRefusal(auditEvent(action: action.flatMap { (ELBOperation.action($0, service: .elbv2) ?? ELBOperation.action($0, service: .ec2))?.action },
                                       parameters: nil, result: [], failure: (error.code.rawValue, error.message), caller: caller, requestID: requestID))
    }

    /// Appends a call's event and fsyncs it before the call is answered, on NIO's thread pool:
    /// a slow disk holds up that call, not one of Swift's shared threads.
    private func record(in audit: AuditTrail, action: String?, parameters: [String: String]?, result: [XMLNode],
                        failure: (code: String, message: String)?, caller: AuditCaller, requestID: String, ec2: Bool = false) async {
        let event = auditEvent(action: action, parameters: parameters, result: result, failure: failure, caller: caller, requestID: requestID, ec2: ec2)
        let failure: String?
        do {
            failure = try await NIOThreadPool.singleton.runIfActive { audit.record(event) }
        } catch { failure = "\(error)" }
        if let failure { Logger.gwlbd.error("cannot append to the audit trail: \(failure)") }
    }

    private func auditEvent(action: String?, parameters: [String: String]?, result: [XMLNode],
                            failure: (code: String, message: String)?, caller: AuditCaller, requestID: String, ec2: Bool = false) -> AuditEvent {
        let action = action ?? "Unknown"
        let readOnly = action.hasPrefix("Describe")
        let (region, account) = service.read { ($0.region, $0.account) }
        var event = AuditEvent(eventName: action, caller: caller, region: region, account: account,
                               requestParameters: parameters.map(AuditRecording.requestParameters),
                               responseElements: readOnly || failure != nil ? nil : AuditRecording.responseElements(result),
                               requestID: requestID, readOnly: readOnly, errorCode: failure?.code, errorMessage: failure?.message)
        if ec2 { (event.eventSource, event.apiVersion) = ("ec2.amazonaws.com", QueryRequest.ec2Version) }
        return event
    }

    typealias Operation = @Sendable (ELBActions, QueryRequest) async throws -> [XMLNode]

    /// What answers each elbv2 operation of the contract's table (`ELBOperation.all`), by action.
    static let handlers: [String: Operation] = [
        "CreateLoadBalancer": { actions, request in
            let subnets = try request.list("Subnets") + request.structures("SubnetMappings").compactMap { $0["SubnetId"] }
            let balancer = try await actions.service.perform { catalog, context in
                try catalog.createLoadBalancer(name: try request.required("Name"), type: request.string("Type"), subnets: subnets,
                                               ipAddressType: request.string("IpAddressType"), tags: try request.tags(),
                                               id: context.newID(), now: context.now)
            }
            return [.list("LoadBalancers", [ResourceXML.loadBalancer(balancer)])]
        },
        "DescribeLoadBalancers": { actions, request in
            let arns = try request.arns("LoadBalancerArns"), names = try request.list("Names")
            let balancers = try actions.service.read { catalog in
                for arn in arns where !catalog.loadBalancers.contains(where: { $0.arn == arn }) {
                    throw ELBError(.loadBalancerNotFound, "Load balancer '\(arn)' not found")
                }
                for name in names where !catalog.loadBalancers.contains(where: { $0.name == name }) {
                    throw ELBError(.loadBalancerNotFound, "Load balancer '\(name)' not found")
                }
                return catalog.loadBalancers.filter { (arns.isEmpty || arns.contains($0.arn)) && (names.isEmpty || names.contains($0.name)) }
            }
            let page = try request.page(balancers)
            return [.list("LoadBalancers", page.items.map(ResourceXML.loadBalancer))] + (page.nextMarker.map { [.value("NextMarker", $0)] } ?? [])
        },
        "DeleteLoadBalancer": { actions, request in
            let arn = try request.arn("LoadBalancerArn")
            try await actions.service.perform { catalog, _ in try catalog.deleteLoadBalancer(arn) }
            return []
        },
        "DescribeLoadBalancerAttributes": { actions, request in
            let arn = try request.arn("LoadBalancerArn")
            return [ResourceXML.attributes(try actions.service.read { try $0.loadBalancer(arn).attributes })]
        },
        "ModifyLoadBalancerAttributes": { actions, request in
            let arn = try request.arn("LoadBalancerArn"), changes = try request.attributeChanges()
            return [ResourceXML.attributes(try await actions.service.perform { catalog, _ in try catalog.modifyLoadBalancerAttributes(arn, changes) })]
        },
        "CreateTargetGroup": { actions, request in
            let check = try request.healthCheck()
            let group = try await actions.service.perform { catalog, context in
                try catalog.createTargetGroup(name: try request.required("Name"), protocol: request.string("Protocol"),
                                              port: try request.int("Port"), vpcId: request.string("VpcId"),
                                              targetType: request.string("TargetType"), healthCheck: check, tags: try request.tags(),
                                              id: context.newID())
            }
            return [.list("TargetGroups", [ResourceXML.targetGroup(group, loadBalancers: [])])]
        },
        "DescribeTargetGroups": { actions, request in
            let arns = try request.arns("TargetGroupArns"), names = try request.list("Names")
            let balancer = try request.string("LoadBalancerArn").map { _ in try request.arn("LoadBalancerArn") }
            let groups = try actions.service.read { catalog in
                if let balancer { _ = try catalog.loadBalancer(balancer) }
                for arn in arns where !catalog.targetGroups.contains(where: { $0.arn == arn }) {
                    throw ELBError(.targetGroupNotFound, "Target group '\(arn)' not found")
                }
                for name in names where !catalog.targetGroups.contains(where: { $0.name == name }) {
                    throw ELBError(.targetGroupNotFound, "Target group '\(name)' not found")
                }
                return catalog.targetGroups.filter { group in
                    (arns.isEmpty || arns.contains(group.arn)) && (names.isEmpty || names.contains(group.name))
                        && (balancer == nil || catalog.listeners.contains { $0.loadBalancerArn == balancer && $0.targetGroupArn == group.arn })
                }.map { group in (group, catalog.listeners.filter { $0.targetGroupArn == group.arn }.map(\.loadBalancerArn)) }
            }
            let page = try request.page(groups)
            return [.list("TargetGroups", page.items.map { ResourceXML.targetGroup($0.0, loadBalancers: $0.1) })]
                + (page.nextMarker.map { [.value("NextMarker", $0)] } ?? [])
        },
        "ModifyTargetGroup": { actions, request in
            let arn = try request.arn("TargetGroupArn")
            let group = try await actions.service.perform { catalog, _ in
                try catalog.modifyTargetGroup(arn, healthCheck: try request.healthCheck(over: try catalog.targetGroup(arn).healthCheck))
            }
            let balancers = actions.service.read { catalog in catalog.listeners.filter { $0.targetGroupArn == arn }.map(\.loadBalancerArn) }
            return [.list("TargetGroups", [ResourceXML.targetGroup(group, loadBalancers: balancers)])]
        },
        "DeleteTargetGroup": { actions, request in
            let arn = try request.arn("TargetGroupArn")
            try await actions.service.perform { catalog, _ in try catalog.deleteTargetGroup(arn) }
            return []
        },
        "DescribeTargetGroupAttributes": { actions, request in
            let arn = try request.arn("TargetGroupArn")
            return [ResourceXML.attributes(try actions.service.read { try $0.targetGroup(arn).attributes })]
        },
        "ModifyTargetGroupAttributes": { actions, request in
            let arn = try request.arn("TargetGroupArn"), changes = try request.attributeChanges()
            return [ResourceXML.attributes(try await actions.service.perform { catalog, _ in try catalog.modifyTargetGroupAttributes(arn, changes) })]
        },
        "RegisterTargets": { actions, request in
            let arn = try request.arn("TargetGroupArn"), targets = try request.targets()
            guard !targets.isEmpty else { throw ELBError(.validationError, "Targets must name at least one target") }
            try await actions.service.perform { catalog, context in
                try catalog.registerTargets(arn, targets, instances: actions.instances, now: context.now)
            }
            return []
        },
        "DeregisterTargets": { actions, request in
            let arn = try request.arn("TargetGroupArn"), targets = try request.targets().map(\.id)
            guard !targets.isEmpty else { throw ELBError(.validationError, "Targets must name at least one target") }
            // gwlb's DryRun: what would happen, from the live tables, and nothing changed. A real
            // call keeps the same preview in its audit record (not in AWS's answer).
            let preview = try await DeregistrationPreview.compute(service: actions.service, group: arn, ids: targets, instances: actions.instances,
                                                            flows: actions.flows)
            if try request.bool("DryRun") == true {
                return [.value("DryRun", "true"), preview.xml.renamed("Preview")]
            }
            try await actions.service.perform { catalog, context in try catalog.deregisterTargets(arn, targets, now: context.now) }
            return [preview.xml]
        },
        "DescribeTargetHealth": { actions, request in
            let arn = try request.arn("TargetGroupArn"), asked = try request.targets()
            let (views, healthCheckPort) = (try actions.service.targets(of: arn), try actions.service.read { try $0.targetGroup(arn).healthCheck.port })
            let rows: [TargetView] = asked.isEmpty ? views : asked.map { target in
                views.first { $0.registration.id == target.id }
                    ?? TargetView(registration: TargetRegistration(id: target.id, port: target.port ?? TargetGroup.port, registeredTime: Date(), deregisteredTime: nil),
                                  address: target.id, health: .notRegistered)
            }
            return [.list("TargetHealthDescriptions", rows.map {
                ResourceXML.targetHealth($0.registration, healthCheckPort: healthCheckPort, state: $0.health, nodes: $0.nodes)
            })]
        },
        "CreateListener": { actions, request in
            let balancer = try request.arn("LoadBalancerArn")
            let action = try request.structures("DefaultActions")
            guard action.count == 1 else { throw ELBError(.validationError, "A gateway listener needs exactly one default action") }
            let group = try action[0]["TargetGroupArn"].map { text in
                guard let arn = ARN(text) else { throw ELBError(.validationError, "'\(text)' is not a valid target group ARN") }
                return arn
            }
            let listener = try await actions.service.perform { catalog, context in
                try catalog.createListener(loadBalancer: balancer, port: try request.int("Port"), protocol: request.string("Protocol"),
                                           forwardTo: group, actionType: action[0]["Type"], tags: try request.tags(), id: context.newID())
            }
            return [.list("Listeners", [ResourceXML.listener(listener)])]
        },
        "DescribeListeners": { actions, request in
            let balancer = try request.string("LoadBalancerArn").map { _ in try request.arn("LoadBalancerArn") }
            let arns = try request.arns("ListenerArns")
            let listeners = try actions.service.read { catalog in
                if let balancer { _ = try catalog.loadBalancer(balancer) }
                for arn in arns { _ = try catalog.listener(arn) }
                return catalog.listeners.filter { (balancer == nil || $0.loadBalancerArn == balancer) && (arns.isEmpty || arns.contains($0.arn)) }
            }
            let page = try request.page(listeners)
            return [.list("Listeners", page.items.map(ResourceXML.listener))] + (page.nextMarker.map { [.value("NextMarker", $0)] } ?? [])
        },
        "ModifyListener": { actions, request in
            let arn = try request.arn("ListenerArn")
            guard request.string("Port") == nil, request.string("Protocol") == nil else {
                throw ELBError(.validationError, "A port and protocol cannot be specified for gateway listeners")
            }
            let action = try request.structures("DefaultActions")
            guard action.count == 1, action[0]["Type"] == "forward", let text = action[0]["TargetGroupArn"], let group = ARN(text) else {
                throw ELBError(.validationError, "DefaultActions must be one Type=forward,TargetGroupArn=<target group>")
            }
            let listener = try await actions.service.perform { catalog, _ in try catalog.modifyListener(arn, forwardTo: group) }
            return [.list("Listeners", [ResourceXML.listener(listener)])]
        },
        "DeleteListener": { actions, request in
            let arn = try request.arn("ListenerArn")
            try await actions.service.perform { catalog, _ in try catalog.deleteListener(arn) }
            return []
        },
        "DescribeListenerAttributes": { actions, request in
            let arn = try request.arn("ListenerArn")
            return [ResourceXML.attributes(try actions.service.read { try $0.listener(arn).attributes })]
        },
        "ModifyListenerAttributes": { actions, request in
            let arn = try request.arn("ListenerArn"), changes = try request.attributeChanges()
            return [ResourceXML.attributes(try await actions.service.perform { catalog, _ in try catalog.modifyListenerAttributes(arn, changes) })]
        },
        "AddTags": { actions, request in
            let arns = try request.arns("ResourceArns"), tags = try request.tags()
            try await actions.service.perform { catalog, _ in try catalog.addTags(arns, tags) }
            return []
        },
        "RemoveTags": { actions, request in
            let arns = try request.arns("ResourceArns"), keys = try request.list("TagKeys")
            try await actions.service.perform { catalog, _ in try catalog.removeTags(arns, keys: keys) }
            return []
        },
        // gwlb's extension: endpoints (the TUN interfaces routes steer traffic into).
        "CreateEndpoint": { actions, request in
            let balancer = try request.arn("LoadBalancerArn"), interface = try request.required("Interface")
            let endpoint = try await actions.service.perform { catalog, context in
                try catalog.createEndpoint(loadBalancer: balancer, interface: interface, endpointId: request.string("EndpointId"),
                                           attachmentId: request.string("AttachmentId"), newID: context.newID, now: context.now)
            }
            return [.list("Endpoints", [ResourceXML.endpoint(endpoint, failure: actions.endpointFailure(endpoint.interface))])]
        },
        "DescribeEndpoints": { actions, request in
            let ids = try request.list("EndpointIds")
            let balancer = try request.string("LoadBalancerArn").map { _ in try request.arn("LoadBalancerArn") }
            let endpoints = try actions.service.read { catalog in
                for id in ids { _ = try catalog.endpoint(id) }
                return catalog.endpoints.filter { (ids.isEmpty || ids.contains($0.id)) && (balancer == nil || $0.loadBalancerArn == balancer) }
            }
            return [.list("Endpoints", endpoints.map { ResourceXML.endpoint($0, failure: actions.endpointFailure($0.interface)) })]
        },
        "DeleteEndpoint": { actions, request in
            let id = try request.required("EndpointId")
            try await actions.service.perform { catalog, _ in catalog.deleteEndpoint(id) }
            return []
        },
        "DescribeTags": { actions, request in
            let arns = try request.arns("ResourceArns")
            let described = try actions.service.read { catalog in try arns.map { ($0, try catalog.tags($0)) } }
            return [.list("TagDescriptions", described.map { [.value("ResourceArn", $0.0.description), ResourceXML.tags($0.1)] })]
        },
    ]
}
