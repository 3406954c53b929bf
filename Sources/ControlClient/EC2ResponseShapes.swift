import ControlContract
/// botocore's ec2 shapes as the aws CLI prints them: EC2 answers in lower camel case with lists
/// of `item`s named `…Set`; the CLI shows the model's member names (`routeSet` → `Routes`,
/// `vpcEndpoint` → `VpcEndpoint`) and numbers, booleans and timestamps by their type.
public enum EC2ResponseShapes {
    /// Lists whose name does not end in `Set`.
    static let lists: Set<String> = ["serviceType", "unsuccessful", "repaired", "remaining"]
    static let booleans: Set<String> = ["acceptanceRequired", "managesVpcEndpoints", "main", "requesterManaged", "privateDnsEnabled", "return"]
    static let timestamps: Set<String> = ["creationTimestamp"]

    /// The answer's members (all but `requestId`), as JSON.
    public static func json(_ root: XMLTree) -> JSONValue {
        .object(root.children.filter { $0.name != "requestId" }.map { (memberName($0.name), value($0)) })
    }

    /// `routeSet` → `Routes`, `dnsEntrySet` → `DnsEntries`, `vpcEndpointId` → `VpcEndpointId`.
    static func memberName(_ name: String) -> String {
        var base = name
        if base.hasSuffix("Set") {
            base.removeLast(3)
            base += base.hasSuffix("y") ? "" : "s"
            if base.hasSuffix("y") { base.removeLast(); base += "ies" }
        }
        return base.prefix(1).uppercased() + base.dropFirst()
    }

    static func value(_ element: XMLTree) -> JSONValue {
        if element.name.hasSuffix("Set") || lists.contains(element.name) {
            return .array(element.children.map { item in
                item.children.isEmpty ? .string(item.text) : .object(item.children.map { (memberName($0.name), value($0)) })
            })
        }
        guard element.children.isEmpty else { return .object(element.children.map { (memberName($0.name), value($0)) }) }
        if booleans.contains(element.name) { return .bool(element.text == "true") }
        if timestamps.contains(element.name) { return .string(ResponseShapes.cliTimestamp(element.text)) }
        return .string(element.text)
    }
}
