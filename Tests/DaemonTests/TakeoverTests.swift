import Foundation
import Testing
@testable import Daemon

/// The pieces of `gwlbd --takeover` that need no lab: who may take over, and the channel that
/// carries descriptors from one process to the other.
@Suite struct TakeoverTests {
    static let own = Takeover.Request(version: "1.0", pid: 1, workers: 2, geneve: "198.18.0.1:6081", offloads: true, sharedState: "/dev/shm/gwlbd-x")

    @Test func aSuccessorThatAgreesIsAcceptedAndEachDifferenceIsNamed() {
        var twin = Self.own
        twin.version = "1.1"
        twin.pid = 2
        #expect(Takeover.refusal(of: twin, own: Self.own) == nil, "another version and pid are what an upgrade is")
        func refusal(_ change: (inout Takeover.Request) -> Void) -> String {
            var request = Self.own
            change(&request)
            return Takeover.refusal(of: request, own: Self.own) ?? "accepted"
        }
        #expect(refusal { $0.workers = 3 }.contains("2 workers, the new one 3"))
        #expect(refusal { $0.geneve = "198.18.0.2:6081" }.contains("GENEVE on 198.18.0.1:6081, the new one on 198.18.0.2:6081"))
        #expect(refusal { $0.offloads = false }.contains("offloads are on in the running gwlbd and off in the new one"))
        #expect(refusal { $0.sharedState = "/dev/shm/other" }.contains("keeps its flows in /dev/shm/gwlbd-x, the new one in /dev/shm/other"))
        var memoryOnly = Self.own
        memoryOnly.sharedState = nil
        #expect(Takeover.refusal(of: memoryOnly, own: memoryOnly)?.contains("cannot be handed over") == true)
    }

    /// 600 descriptors (more than one message carries) cross a real socket with their message, and
    /// each received one is the same open pipe as the one sent.
    @Test func descriptorsCrossTheChannelWithTheirMessage() throws {
        let path = NSTemporaryDirectory() + "gwlb-takeover-\(UUID().uuidString.prefix(8)).sock"
        defer { unlink(path) }
        let listener = try TakeoverChannel.listen(path: path)
        defer { close(listener) }
        var mode = stat()
        #expect(stat(path, &mode) == 0 && mode.st_mode & 0o777 == 0o600, "only root may take over")

        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { ends.forEach { close($0) } }
        let sent = (0..<600).map { _ in dup(ends[1]) }
        defer { sent.forEach { close($0) } }
        let client = try TakeoverChannel.connect(path: path)
        let server = TakeoverChannel(descriptor: accept(listener, nil, nil))
        try client.send(Takeover.Started(pid: 42), descriptors: sent)
        let (message, received) = try server.receive(Takeover.Started.self, descriptorCount: { _ in 600 }, seconds: 5)
        defer { received.forEach { close($0) } }
        #expect(message.pid == 42)
        #expect(received.count == 600 && Set(received).isDisjoint(with: sent), "new descriptors of this process")
        // Each is close-on-exec and writes into the same pipe.
        #expect(received.allSatisfy { fcntl($0, F_GETFD) & FD_CLOEXEC != 0 })
        for (index, descriptor) in [received[0], received[299], received[599]].enumerated() {
            var byte = UInt8(index + 1)
            #expect(write(descriptor, &byte, 1) == 1)
        }
        var read3 = [UInt8](repeating: 0, count: 3)
        #expect(read(ends[0], &read3, 3) == 3 && read3 == [1, 2, 3])
    }

    @Test func aPeerThatGoesAwayOrStaysSilentIsAnErrorNotAWait() throws {
        let path = NSTemporaryDirectory() + "gwlb-takeover-\(UUID().uuidString.prefix(8)).sock"
        defer { unlink(path) }
        let listener = try TakeoverChannel.listen(path: path)
        defer { close(listener) }
        let silent = try TakeoverChannel.connect(path: path)
        let server = TakeoverChannel(descriptor: accept(listener, nil, nil))
        #expect(throws: TakeoverChannel.Failure.self) { _ = try server.receive(Takeover.Request.self, seconds: 1) }
        withExtendedLifetime(silent) {}
        var leaving: TakeoverChannel? = try TakeoverChannel.connect(path: path)
        let other = TakeoverChannel(descriptor: accept(listener, nil, nil))
        withExtendedLifetime(leaving) {}
        leaving = nil
        let started = Date()
        #expect(throws: TakeoverChannel.Failure.self) { _ = try other.receive(Takeover.Request.self, seconds: 5) }
        #expect(Date().timeIntervalSince(started) < 2, "a closed connection is seen at once")
        unlink(path)
        #expect(throws: TakeoverChannel.Failure.self) { _ = try TakeoverChannel.connect(path: path) }
    }
}
