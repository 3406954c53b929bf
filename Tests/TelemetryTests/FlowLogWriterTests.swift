import DataPlane
import Foundation
import Lab
import Synchronization
import Testing
import Wire
@testable import Telemetry
import TestTraits

@Suite(.blocking) struct FlowLogWriterTests {
    let directory = NSTemporaryDirectory() + "gwlb-flowlog-\(UUID().uuidString.prefix(8))"

    init() throws { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }

    func record(_ interval: UInt32, from source: String, port: UInt16, accepted: Bool = true, packets: UInt64 = 1, bytes: UInt64 = 100,
                at time: UInt32) -> FlowLogRecord {
        FlowLogRecord(interval: interval, source: IPv6Address(mapping: IPv4Address(source)!), destination: IPv6Address(mapping: IPv4Address("198.19.0.2")!),
                      sourcePort: port, destinationPort: 53, protocol: IPProtocol(rawValue: 17), endpoint: 0, accepted: accepted,
                      packets: packets, bytes: bytes, start: time, end: time)
    }

    func lines(_ path: String) throws -> [[Substring]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
    }

    @Test func recordsAreSummedPerIntervalAndWrittenOnceItCloses() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = FlowLogRing(capacity: 64)
        let path = directory + "/flow.log"
        let writer = try FlowLogWriter(options: FlowLogOptions(path: path, interval: 60, account: "111122223333"), rings: [ring]) { _ in "vpce-0123456789abcdef0" }
        ring.push(record(1200, from: "198.18.0.2", port: 40000, packets: 2, bytes: 200, at: 1201))
        ring.push(record(1200, from: "198.18.0.2", port: 40000, packets: 3, bytes: 300, at: 1250))
        ring.push(record(1200, from: "198.18.0.2", port: 40001, accepted: false, packets: 1, bytes: 9000, at: 1230))
        ring.push(record(1260, from: "198.18.0.2", port: 40000, at: 1265))
        writer.pass(now: 1261)
        #expect(try lines(path).count == 1, "only the header: the interval is open for a grace period")
        writer.pass(now: 1262)
        let written = try lines(path)
        #expect(written[0].joined(separator: " ") == FlowLogWriter.header)
        #expect(written.count == 3, "in order of their first packet")
        #expect(written.dropFirst().allSatisfy { $0.count == 14 })
        #expect(written[1].joined(separator: " ") == "2 111122223333 vpce-0123456789abcdef0 198.18.0.2 198.19.0.2 40000 53 17 5 500 1201 1250 ACCEPT OK")
        #expect(written[2].joined(separator: " ") == "2 111122223333 vpce-0123456789abcdef0 198.18.0.2 198.19.0.2 40001 53 17 1 9000 1230 1230 REJECT OK")
        writer.stop()
        #expect(try lines(path).count == 4, "stopping writes the open interval too")
    }

    /// On a full disk (a 64 KiB tmpfs, filled up) records are lost whole, never half a line,
    /// counted and said once; with room again, writing resumes and says so.
    @Test func aFullDiskLosesWholeRecordsCountedAndWritingResumes() throws {
        guard geteuid() == 0 else {
            Issue.record("mounting a tmpfs needs root (CI runs as root): run `sudo swift test`")
            return
        }
        let mount = directory + "/tmpfs"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        #expect(Self.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]) == 0)
        defer {
            _ = Self.run(["umount", mount])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let ring = FlowLogRing(capacity: 4096)
        let path = mount + "/flow.log"
        let said = Mutex<[String]>([])
        let writer = try FlowLogWriter(options: FlowLogOptions(path: path, interval: 60), rings: [ring], interfaceName: { _ in "vpce-1" }) { line in
            said.withLock { $0.append(line) }
        }
        // Fill what is left of the disk.
        let filler = open(mount + "/filler", O_WRONLY | O_CREAT, 0o600)
        let block = [UInt8](repeating: 0, count: 4096)
        while block.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
        close(filler)
        for port in 0..<200 { ring.push(record(600, from: "198.18.0.2", port: UInt16(40000 + port), at: 610)) }
        writer.pass(now: 700)
        let lost = writer.recordsLost
        #expect(lost > 0, "records written to a full disk")
        #expect(said.withLock { $0.count == 1 && $0[0].contains("cannot write") }, "\(said.withLock { $0 })")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"), "half a record in the file")
        #expect(try lines(path).dropFirst().allSatisfy { $0.count == 14 })

        unlink(mount + "/filler")
        for port in 0..<10 { ring.push(record(660, from: "198.18.0.3", port: UInt16(50000 + port), at: 670)) }
        writer.pass(now: 800)
        #expect(writer.recordsLost == lost)
        #expect(try lines(path).filter { $0.count > 3 && $0[3] == "198.18.0.3" }.count == 10, "writing resumed")
        #expect(said.withLock { $0.last?.contains("writing again; \(lost) records were lost") == true }, "\(said.withLock { $0 })")
    }

    static func run(_ arguments: [String]) -> Int32 {
        (try? ChildProcess(arguments).waitUntilExit()) ?? -1
    }

    @Test func aFullRingMarksItsIntervalSkipData() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = FlowLogRing(capacity: 4)
        let path = directory + "/flow.log"
        let writer = try FlowLogWriter(options: FlowLogOptions(path: path, interval: 60), rings: [ring]) { _ in "vpce-1" }
        for port in 0..<10 { ring.push(record(600, from: "198.18.0.2", port: UInt16(40000 + port), at: 610)) }
        #expect(ring.skipped.load(ordering: .relaxed) == 6)
        writer.pass(now: 700)
        let written = try lines(path)
        #expect(written.count == 1 + 4 + 1)
        #expect(written.last?.joined(separator: " ") == "2 123456789012 - - - - - - - - 600 660 - SKIPDATA")
    }

    @Test func theFileIsRotatedBySize() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = FlowLogRing(capacity: 1024)
        let path = directory + "/flow.log"
        let writer = try FlowLogWriter(options: FlowLogOptions(path: path, interval: 60, maxBytes: 4096, keep: 2), rings: [ring]) { _ in "vpce-1" }
        for interval in 0..<6 {
            for port in 0..<40 { ring.push(record(UInt32(interval * 60), from: "198.18.0.2", port: UInt16(40000 + port), at: UInt32(interval * 60))) }
            writer.pass(now: UInt32(interval * 60 + 70))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["flow.log", "flow.log.1", "flow.log.2"], "keep 2 rotated files")
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.size] as? Int ?? 0
            #expect(size <= 4096, "\(file): \(size) bytes")
            #expect(try lines(directory + "/" + file).first?.joined(separator: " ") == FlowLogWriter.header, "each file starts with the header")
        }
    }
}
