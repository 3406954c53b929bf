import Foundation
import Lab
import Testing
import TestTraits

/// What gwlbd leaves on disk is private, and its socket open to one group only: `--socket-group`.
@Suite(.blocking) struct FilePermissionsEndToEndTests {
    static func status(_ path: String) -> stat? {
        var status = stat()
        return lstat(path, &status) == 0 ? status : nil
    }

    @Test func stateIsPrivateAndTheSocketBelongsToItsGroup() throws {
        guard let group = getgrnam("daemon") else { throw LabFixture.Failure("this test needs the group 'daemon' (Debian has it)") }
        let gid = group.pointee.gr_gid
        let api = try APIDaemonFixture(appliances: 1)
        defer { api.tearDown() }
        // A state directory made by hand with loose permissions becomes private.
        try FileManager.default.createDirectory(atPath: api.state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // Started with a low soft descriptor limit, which gwlbd raises to the hard one.
        try api.start(extra: ["--socket-group", "daemon"], launcher: ["prlimit", "--nofile=512:8192"])
        _ = try api.gettingStarted(targets: [1])
        let socket = try #require(Self.status(api.socket))
        #expect(socket.st_mode & S_IFMT == S_IFSOCK && socket.st_mode & 0o777 == 0o660 && socket.st_gid == gid)
        #expect(Self.status(api.state).map { $0.st_mode & 0o777 } == 0o700)
        for file in ["gwlb.sqlite", "audit.log"] {
            #expect(Self.status(api.state + "/" + file).map { $0.st_mode & 0o777 } == 0o600, "\(file)")
        }
        // Its descriptor limit was raised to the hard one (`ip netns exec` execs gwlbd in place).
        let pid = try #require(api.daemon?.processIdentifier)
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let openFiles = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        let numbers = openFiles.split(separator: " ").compactMap { Int($0) }
        #expect(numbers == [8192, 8192], "\(openFiles)")
        // An unknown group is refused with a sentence.
        api.stop()
        let refused = try LabFixture.execute(["ip", "netns", "exec", api.lab.lab.router, LabFixture.binary("gwlbd"), "--state-dir", api.state,
                                              "--socket", api.socket, "--geneve-address", Lab.geneveAddress, "--socket-group", "no-such-group-x"])
        #expect(refused.status != 0 && refused.output.contains("--socket-group no-such-group-x: no such group"), "\(refused.output)")
    }
}
