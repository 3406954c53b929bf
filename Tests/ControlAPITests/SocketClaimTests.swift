import Foundation
import Testing
@testable import ControlAPI

/// `--socket PATH` taken by gwlbd: only a stale socket is ever removed there.
@Suite struct SocketClaimTests {
    static func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "gwlb-claim-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func aDirectoryAFileOrALinkIsRefusedAndKept() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // What `--socket /var/lib/gwlb` would point at: a state directory with a database in it.
        let state = root + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try Data("catalog".utf8).write(to: URL(fileURLWithPath: state + "/gwlb.sqlite"))
        let file = root + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let link = root + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: state)
        for path in [state, file, link] {
            #expect { try APIServer.claim(socketPath: path) } throws: { "\($0)".contains("is not a socket") }
        }
        #expect(FileManager.default.fileExists(atPath: state + "/gwlb.sqlite"))
        #expect(FileManager.default.fileExists(atPath: file))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == state)
    }

    @Test func aStaleSocketIsRemovedAndAMissingPathIsFine() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/gwlb.sock"
        // A socket file nobody listens on: what a killed gwlbd leaves.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        try #require(bound == 0)
        try APIServer.claim(socketPath: path)
        #expect(!FileManager.default.fileExists(atPath: path))
        try APIServer.claim(socketPath: root + "/never-there.sock")
    }
}
