import ControlContract

/// The operations' names on the command line, as the aws CLI derives them with botocore: the
/// verb is the action in kebab case and each flag is its parameter in kebab case
/// (`--target-group-arn`).
extension ELBOperation {
    public var verb: String { Self.kebab(action) }

    /// EC2 names a list's members in the singular: `SubnetIds` → `SubnetId`, `Tags` → `Tag`.
    static func singular(_ name: String) -> String { name.hasSuffix("s") ? String(name.dropLast()) : name }

    /// `TargetGroupArn` → `target-group-arn`.
    static func kebab(_ name: String) -> String {
        var output = ""
        let characters = Array(name)
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0,
               !characters[index - 1].isUppercase || (index + 1 < characters.count && characters[index + 1].isLowercase) {
                output += "-"
            }
            output += character.lowercased()
        }
        return output
    }

    public static func named(_ verb: String) -> ELBOperation? { all.first { $0.verb == verb } }
    public static func ec2Named(_ verb: String) -> ELBOperation? { ec2.first { $0.verb == verb } }
}

extension ELBOperation.Parameter {
    public var flag: String { ELBOperation.kebab(name) }
}
