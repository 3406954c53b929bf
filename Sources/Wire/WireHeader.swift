/// A header as a value: parsed from bytes and written back to exactly the same bytes.
/// Value types are for the control side, tests and tools; the per-packet path uses the views
/// (`IPv4View`, `GeneveView`, `PacketSummary` …), which read fields in place.
public protocol WireHeader: Hashable, Sendable {
    /// Reads the header at the start of `bytes`; bytes after it are ignored.
    init(parsing bytes: UnsafeRawBufferPointer) throws(WireError)
    /// How many bytes `write(to:)` writes.
    var encodedLength: Int { get }
    /// Writes the header at the start of `buffer`, which must hold `encodedLength` bytes.
    func write(to buffer: UnsafeMutableRawBufferPointer)
}

extension WireHeader {
    /// Reads the header at the start of `bytes`.
    public init(parsing bytes: [UInt8]) throws(WireError) {
        let result: Result<Self, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try Self(parsing: raw)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// The header's bytes, as `write(to:)` writes them.
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: encodedLength) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            write(to: raw)
            initialized = encodedLength
        }
    }
}
