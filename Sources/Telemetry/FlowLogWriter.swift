import DataPlane
import Foundation
import Logging
import Synchronization
import Wire

/// Where and how flow logs are written (`--flow-log FILE`).
public struct FlowLogOptions: Sendable, Hashable {
    public var path: String
    /// VPC's aggregation intervals: 60 or 600 seconds.
    public var interval: UInt32
    /// The file is rotated (FILE → FILE.1 …) before it grows past this.
    public var maxBytes: Int
    /// Rotated files kept.
    public var keep: Int
    public var account: String

    public static let intervals: Set<UInt32> = [60, 600]

    public init(path: String, interval: UInt32 = 60, maxBytes: Int = 100 << 20, keep: Int = 5, account: String = "123456789012") {
        self.path = path
        self.interval = interval
        self.maxBytes = maxBytes
        self.keep = keep
        self.account = account
    }
}

/// Writes VPC flow log version-2 records (README "Telemetry"): takes the workers' records from their rings,
/// sums them per interval, endpoint, direction and action, and writes each interval once it has
/// closed. A worker whose ring was full lost records: their interval gets a SKIPDATA record. Runs
/// on a thread of its own; the data plane never waits for it.
public final class FlowLogWriter: @unchecked Sendable {
    // @unchecked: everything but `stopping` is touched by the writer's thread only (or, after it
    // ended, by `stop`'s caller).
    public static let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    /// Aggregates held per interval at most; more are counted as skipped.
    public static let maximumAggregates = 1 << 20
    /// Seconds after an interval's end before it is written: the workers' last records arrive.
    static let grace: UInt32 = 2

    public let options: FlowLogOptions
    private let rings: [FlowLogRing]
    private let interfaceName: @Sendable (UInt8) -> String
    private var pending: [UInt32: [Key: Sum]] = [:]
    private var skippedSeen: [UInt64]
    private var skippedIntervals: Set<UInt32> = []
    private var descriptor: Int32 = -1
    private var size = 0
    private let stopping = Atomic<Bool>(false)
    /// Records that could not be written (a full disk, an I/O error), since start.
    private let lost = Atomic<UInt64>(0)
    /// In a run of failed writes: said once when it starts and once when it ends.
    private var failing = false
    private var lostInRun: UInt64 = 0
    private let log: @Sendable (String) -> Void
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    struct Key: Hashable {
        var source: IPv6Address, destination: IPv6Address
        var sourcePort: UInt16, destinationPort: UInt16
        var proto: UInt8, endpoint: UInt8, accepted: Bool
    }

    struct Sum {
        var packets: UInt64, bytes: UInt64, start: UInt32, end: UInt32
    }

    public init(options: FlowLogOptions, rings: [FlowLogRing], interfaceName: @escaping @Sendable (UInt8) -> String,
                log: @escaping @Sendable (String) -> Void = { Logger.gwlbd.warning("\($0)") }) throws {
        self.options = options
        self.rings = rings
        self.interfaceName = interfaceName
        self.log = log
        skippedSeen = rings.map { $0.skipped.load(ordering: .acquiring) }
        try open()
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Starts the writer's thread (again, after `stop`: a takeover that did not complete).
    public func start() {
        stopping.store(false, ordering: .releasing)
        let thread = Thread { [self] in
            while !stopping.load(ordering: .acquiring) {
                pass(now: Self.now())
                usleep(250_000)
            }
            finished.signal()
        }
        thread.name = "gwlb-flow-log"
        self.thread = thread
        thread.start()
    }

    /// Stops the thread and writes everything still held, the open interval too (gwlbd stopping).
    public func stop() {
        if thread != nil {
            stopping.store(true, ordering: .releasing)
            finished.wait()
            thread = nil
        }
        pass(now: .max - Self.grace - options.interval)
    }

    static func now() -> UInt32 { UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970)) }

    /// Takes what the rings hold and writes the intervals that closed before `now`.
    func pass(now: UInt32) {
        for (index, ring) in rings.enumerated() {
            ring.drain { add($0) }
            let skipped = ring.skipped.load(ordering: .acquiring)
            if skipped != skippedSeen[index] {
                skippedSeen[index] = skipped
                skippedIntervals.insert(ring.skippedInterval.load(ordering: .relaxed))
            }
        }
        let due = Set(pending.keys).union(skippedIntervals).filter { $0 + options.interval + Self.grace <= now }.sorted()
        for interval in due { write(interval) }
    }

    private func add(_ record: FlowLogRecord) {
        let key = Key(source: record.source, destination: record.destination, sourcePort: record.sourcePort,
                      destinationPort: record.destinationPort, proto: record.protocol.rawValue, endpoint: record.endpoint,
                      accepted: record.accepted)
        if var sum = pending[record.interval]?[key] {
            sum.packets += record.packets
            sum.bytes += record.bytes
            sum.start = min(sum.start, record.start)
            sum.end = max(sum.end, record.end)
            pending[record.interval]![key] = sum
        } else if (pending[record.interval]?.count ?? 0) < Self.maximumAggregates {
            pending[record.interval, default: [:]][key] = Sum(packets: record.packets, bytes: record.bytes, start: record.start, end: record.end)
        } else {
            skippedIntervals.insert(record.interval)
        }
    }

    private func write(_ interval: UInt32) {
        let sums = pending.removeValue(forKey: interval) ?? [:]
        var lines = ""
        for (key, sum) in sums.sorted(by: { ($0.value.start, $0.value.end) < ($1.value.start, $1.value.end) }) {
            let ports = key.proto == 6 || key.proto == 17 || key.proto == 132
            lines += "2 \(options.account) \(interfaceName(key.endpoint)) \(key.source.unmappedDescription) \(key.destination.unmappedDescription) "
                + "\(ports ? key.sourcePort : 0) \(ports ? key.destinationPort : 0) \(key.proto) \(sum.packets) \(sum.bytes) "
                + "\(sum.start) \(sum.end) \(key.accepted ? "ACCEPT" : "REJECT") OK\n"
        }
        if skippedIntervals.remove(interval) != nil {
            lines += "2 \(options.account) - - - - - - - - \(interval) \(interval + options.interval) - SKIPDATA\n"
        }
        for line in lines.split(separator: "\n", omittingEmptySubsequences: true) { append(line + "\n") }
    }

    /// Records lost to failed writes since start (`/v1/stats`, `gwlb_flow_log_records_lost_total`).
    public var recordsLost: UInt64 { lost.load(ordering: .relaxed) }

    /// Appends one line whole, or nothing: a write cut short (a full disk) is taken back, so the
    /// file never holds half a record. A line that cannot be written is counted lost.
    private func append(_ line: String) {
        if size + line.utf8.count > options.maxBytes && size > Self.header.utf8.count + 1 { rotate() }
        let bytes = Array(line.utf8)
        let written = descriptor < 0 ? -1 : bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let code = errno
        if written == bytes.count {
            size += written
            if failing {
                failing = false
                log("flow log \(options.path): writing again; \(lostInRun) records were lost")
            }
            return
        }
        if written > 0 { _ = ftruncate(descriptor, off_t(size)) }
        lost.add(1, ordering: .relaxed)
        lostInRun = failing ? lostInRun + 1 : 1
        if !failing {
            failing = true
            log("flow log \(options.path): cannot write (\(written < 0 ? String(cString: strerror(code)) : "no space for a whole record")): records are lost, and counted, until it can")
        }
    }

    private func open() throws {
        descriptor = Glibc.open(options.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw TelemetryFileError(description: "cannot open the flow log \(options.path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        fstat(descriptor, &status)
        size = Int(status.st_size)
        if size == 0 { append(Self.header + "\n") }
    }

    /// FILE → FILE.1 → … → FILE.keep (the oldest goes), then a new FILE.
    private func rotate() {
        close(descriptor)
        for generation in stride(from: options.keep - 1, through: 1, by: -1) {
            rename("\(options.path).\(generation)", "\(options.path).\(generation + 1)")
        }
        rename(options.path, options.path + ".1")
        size = 0
        do { try open() } catch { log("\(error)") }
    }
}
