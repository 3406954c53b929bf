/// AWS's rule for load balancer and target group names (README "AWS's rules, and choices"): 1–32 characters, letters,
/// digits and hyphens, not starting or ending with a hyphen. Load balancer names may not start
/// with `internal-`.
enum Names {
    static func validate(_ name: String, what: String) throws(ELBError) {
        guard (1...32).contains(name.count) else {
            throw .validation("\(what) name '\(name)' must be 1 to 32 characters long")
        }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw .validation("\(what) name '\(name)' can contain only letters, digits and hyphens")
        }
        guard name.first != "-", name.last != "-" else {
            throw .validation("\(what) name '\(name)' cannot begin or end with a hyphen")
        }
    }
}
