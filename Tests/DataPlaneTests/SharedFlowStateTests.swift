import DataPlane
import Flows
import Foundation
import PacketIO
import Testing
import TestSupport
import Wire

/// The flow state that outlives gwlbd: a second data plane on the same file takes over the first
/// one's flows (same appliance, same cookie, returns accepted), and a file of any other layout is
/// replaced with the reason named.
@Suite struct SharedFlowStateTests {
    let layout = SharedFlowState.Layout(workers: 1, flowsPerWorker: 1024, targetSlots: 1024)
    let client = PacketBuilder("198.18.10.2", "198.18.20.2")

    func path() -> String { "/dev/shm/gwlb-test-\(UUID().uuidString)" }

    /// Opens `file` again after its holder released it. A child another test forks in this process
    /// holds a copy of every descriptor (the lock's too) until it execs, so the lock may outlive
    /// its holder by that instant: a CI run saw "another gwlbd holds" here once. Tried for 2 s.
    func reopen(_ file: String, layout: SharedFlowState.Layout) throws -> SharedFlowState {
        for _ in 0..<40 {
            if let shared = try? SharedFlowState(path: file, layout: layout) { return shared }
            usleep(50_000)
        }
        return try SharedFlowState(path: file, layout: layout)
    }

    /// A harness-like data plane over the shared file, driven by hand.
    func plane(_ shared: SharedFlowState) -> (DataPlane, MemoryIO) {
        let io = MemoryIO(endpointCount: Harness.endpoints.count)
        var configuration = DataPlaneConfiguration(flowsPerWorker: layout.flowsPerWorker)
        configuration.targetSlots = layout.targetSlots
        return (DataPlane(configuration: configuration, ios: [io], snapshot: Harness.snapshot(version: 1, targets: Harness.appliances),
                          shared: shared), io)
    }

    func run(_ plane: DataPlane, at seconds: UInt32) {
        let time = DataPlaneTime(seconds: seconds, wallNanoseconds: Int64(seconds) * 1_000_000_000)
        while plane.workers[0].runOnce(at: time) {}
        plane.workers[0].publish()
    }

    @Test func aSecondProcessTakesTheFlowsOver() throws {
        let file = path()
        defer { SharedFlowState.remove(path: file) }
        var first: (DataPlane, MemoryIO)? = plane(try SharedFlowState(path: file, layout: layout))
        #expect(try #require(first).0.statistics().activeFlows == 0)
        // 20 TCP connections through their handshake, each on its appliance with its cookie.
        var placed: [UInt16: (UDPPeer, [UInt8])] = [:]
        for port in UInt16(40000)..<40020 {
            first!.1.endpointInput[0].append(client.tcp(port, 80, flags: .syn))
        }
        run(first!.0, at: 100)
        for datagram in first!.1.datagramOutput {
            let header = try GeneveHeader(parsing: datagram.bytes)
            let port = UInt16(datagram.bytes[40 + 20]) << 8 | UInt16(datagram.bytes[40 + 21])
            placed[port] = (datagram.to, try #require(header.awsOption(Geneve.awsFlowCookieType)).data)
            first!.1.datagramInput.append((UDPPeer(address: datagram.to.address, port: Geneve.udpPort), datagram.bytes))
        }
        run(first!.0, at: 100)
        #expect(placed.count == 20 && first!.0.statistics().activeFlows == 20)
        let returned = first!.1.datagramOutput
        first = nil  // the process is gone; its memory stays in the file

        let shared = try reopen(file, layout: layout)
        #expect(shared.start == .resumed)
        let (second, io) = plane(shared)
        #expect(second.statistics().activeFlows == 20, "the counts are there before the worker first runs")
        #expect(second.statistics().targets.map(\.activeFlows).reduce(0, +) == 20)
        // Mid-connection segments (no SYN) continue on their appliance, under their cookie.
        for port in UInt16(40000)..<40020 { io.endpointInput[0].append(client.tcp(port, 80, flags: .ack)) }
        run(second, at: 105)
        #expect(io.datagramOutput.count == 20, "\(second.recentDrops())")
        for datagram in io.datagramOutput {
            let port = UInt16(datagram.bytes[40 + 20]) << 8 | UInt16(datagram.bytes[40 + 21])
            let cookie = try #require(GeneveHeader(parsing: datagram.bytes).awsOption(Geneve.awsFlowCookieType)).data
            #expect(placed[port]?.0 == datagram.to && placed[port]?.1 == cookie, "port \(port) moved or changed cookie")
        }
        // A return the appliance sends after the restart, under the cookie it had before, is accepted.
        let answer = try #require(returned.first)
        io.datagramInput.append((UDPPeer(address: answer.to.address, port: Geneve.udpPort), answer.bytes))
        run(second, at: 105)
        #expect(io.endpointOutput[0].count == 1 && second.statistics().totalDrops == 0)
        // New flows still work, in the entries the earlier flows left free.
        io.endpointInput[0].append(client.udp(5000, 53))
        run(second, at: 106)
        #expect(second.statistics().activeFlows == 21)
    }

    @Test func anotherLayoutStartsColdAndSaysWhy() throws {
        let file = path()
        defer { SharedFlowState.remove(path: file) }
        _ = try SharedFlowState(path: file, layout: layout)
        let bigger = SharedFlowState.Layout(workers: 1, flowsPerWorker: 2048, targetSlots: 1024)
        do {
            let cold = try reopen(file, layout: bigger)
            #expect(cold.start == .cold(reason: "built for 1024 flows per worker, this gwlbd has 2048"))
        }
        #expect(try reopen(file, layout: bigger).start == .resumed, "the replaced file is the new layout's")
    }

    @Test func eachMismatchIsNamed() throws {
        let file = path()
        defer { SharedFlowState.remove(path: file) }
        _ = try SharedFlowState(path: file, layout: layout)
        let header = try Array(FileManager.default.contents(atPath: file)!.prefix(4096))
        let fileSize = try #require(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        func problem(_ bytes: [UInt8], size: Int? = nil, layout: SharedFlowState.Layout? = nil) -> String? {
            bytes.withUnsafeBytes { SharedFlowState.problem(header: $0, fileSize: size ?? fileSize, layout: layout ?? self.layout) }
        }
        #expect(problem(header) == nil)
        #expect(problem(Array(header.prefix(50))) == "damaged: shorter than its header (50 bytes)")
        var wrongMagic = header
        wrongMagic[0] ^= 1
        #expect(problem(wrongMagic) == "not gwlbd's shared flow state (no magic)")
        var damaged = header
        damaged[60] ^= 1  // a key byte
        #expect(problem(damaged) == "damaged header (checksum mismatch)")
        #expect(problem(header, layout: .init(workers: 2, flowsPerWorker: 1024, targetSlots: 1024)) == "built for 1 workers, this gwlbd has 2")
        #expect(problem(header, layout: .init(workers: 1, flowsPerWorker: 1024, targetSlots: 512)) == "built for 1024 target slots, this gwlbd has 512")
        #expect(problem(header, size: fileSize - 4096) == "size \(fileSize - 4096) bytes, \(fileSize) expected")
        // Another layout version: written by hand with a valid checksum, as a future gwlbd would.
        var future = header
        future[8] = 2
        let sum = future.withUnsafeBytes { bytes in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in bytes.prefix(104) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            return hash
        }
        withUnsafeBytes(of: sum.littleEndian) { for (index, byte) in $0.enumerated() { future[104 + index] = byte } }
        #expect(problem(future) == "built for 2 layout version, this gwlbd has 1")
    }

    @Test func controlRecordsSurviveATornWrite() throws {
        let file = path()
        defer { SharedFlowState.remove(path: file) }
        let shared = try SharedFlowState(path: file, layout: layout)
        #expect(shared.readControlRecord() == nil)
        shared.writeControlRecord(Array("first".utf8))
        shared.writeControlRecord(Array("second".utf8))
        #expect(shared.readControlRecord() == Array("second".utf8))
        // A process killed while writing the next record leaves it unsealed: the last one stands.
        let handle = try #require(FileHandle(forUpdatingAtPath: file))
        try handle.seek(toOffset: 4096)  // record 0, the older one, which the next write takes
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 8))
        try handle.seek(toOffset: 4096 + 24)
        try handle.write(contentsOf: Data("torn".utf8))
        try handle.close()
        #expect(shared.readControlRecord() == Array("second".utf8))
        #expect(try SharedFlowState(path: file + "-other", layout: layout).readControlRecord() == nil)
        SharedFlowState.remove(path: file + "-other")
        #expect(throws: SharedStateError.self) { try SharedFlowState(path: file, layout: layout) }
    }
}
