import Foundation
import Lab
import Testing
import TestTraits

/// The state directory on a full disk (a 2 MiB tmpfs): changes fail with an error and change
/// nothing, forwarding goes on, and once there is room again everything works.
@Suite(.blocking) struct DiskFullEndToEndTests {
    @Test func aFullDiskRefusesChangesAndForwardingGoesOn() throws {
        let api = try APIDaemonFixture(appliances: 1)
        defer { api.tearDown() }
        try FileManager.default.createDirectory(atPath: api.state, withIntermediateDirectories: true)
        let mounted = try LabFixture.execute(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", api.state])
        try #require(mounted.status == 0, "mounting a tmpfs needs root (CI runs as root): \(mounted.output)")
        defer { _ = try? LabFixture.execute(["umount", "-l", api.state]) }
        try api.start()
        let (_, tg) = try api.gettingStarted(targets: [1])
        let ping = { try api.lab.run(api.lab.lab.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", Lab.serverAddress]).output }
        #expect(try ping().contains("2 received"))

        // Fill the disk.
        _ = try LabFixture.execute(["dd", "if=/dev/zero", "of=\(api.state)/filler", "bs=64k", "count=64"])
        let before = try api.gwlb(["describe-target-groups", "--output", "json"]).output
        var refused = 0
        for number in 2...6 {
            let result = try api.gwlb(["create-target-group", "--name", "full-\(number)", "--protocol", "GENEVE", "--port", "6081"])
            if result.status != 0 { refused += 1 }
        }
        #expect(refused == 5, "every change refused while the disk is full")
        #expect(try api.gwlb(["describe-target-groups", "--output", "json"]).output == before, "nothing half-made")
        #expect(try ping().contains("2 received"), "forwarding goes on")

        // Room again: changes work, and what is stored survives a restart.
        try FileManager.default.removeItem(atPath: "\(api.state)/filler")
        let created = try api.gwlb(["create-target-group", "--name", "after", "--protocol", "GENEVE", "--port", "6081"])
        #expect(created.status == 0, "\(created.output)")
        api.stop()
        try api.start()
        let names = try api.gwlb(["describe-target-groups", "--query", "TargetGroups[].TargetGroupName", "--output", "text"]).output
        #expect(names.contains("after") && names.contains("my-targets") && !names.contains("full-"), "\(names)")
        _ = tg
    }
}
