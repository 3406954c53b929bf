import Foundation
import Testing

/// The README's code map names every module `Package.swift` declares (tests aside).
@Suite struct ReadmeMapTests {
    @Test func everyModuleIsOnTheMap() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "## Code map"), "README.md has no \"## Code map\" section")
        let map = readme[start.upperBound...].prefix { _ in true }.components(separatedBy: "\n## ").first ?? ""
        let modules = manifest.matches(of: /\.(target|executableTarget|systemLibrary)\(name: "([^"]+)"/).map { String($0.output.2) }
        #expect(modules.count > 20)
        for module in modules {
            #expect(map.contains("`\(module)`"), "\(module) is in Package.swift but not in the README's code map")
        }
    }
}
