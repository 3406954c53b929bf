// Unaligned big-endian access at fixed offsets, the only way Wire reads or writes fields.
// Callers check lengths first (validation is separate from access, as in gVisor's header package),
// so these accessors carry no checks of their own beyond debug assertions.

extension UnsafeRawBufferPointer {
    @inline(__always)
    func u8(_ offset: Int) -> UInt8 {
        assert(offset < count)
        // Safe: callers validated `offset < count` against the header's length.
        return load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    func u16(_ offset: Int) -> UInt16 {
        assert(offset + 2 <= count)
        // Safe: callers validated `offset + 2 <= count`; loadUnaligned has no alignment need.
        return UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func u32(_ offset: Int) -> UInt32 {
        assert(offset + 4 <= count)
        // Safe: callers validated `offset + 4 <= count`.
        return UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func u64(_ offset: Int) -> UInt64 {
        assert(offset + 8 <= count)
        // Safe: callers validated `offset + 8 <= count`.
        return UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The bytes from `offset` on, as a view (no copy).
    @inline(__always)
    func dropping(_ offset: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[offset...])
    }

    /// The first `length` bytes, as a view (no copy).
    @inline(__always)
    func prefix(upTo length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[..<length])
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func setU8(_ value: UInt8, at offset: Int) {
        precondition(offset < count)
        storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    func setU16(_ value: UInt16, at offset: Int) {
        precondition(offset + 2 <= count)
        // Safe: bounds checked above; storeBytes allows unaligned offsets for trivial types.
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inline(__always)
    func setU32(_ value: UInt32, at offset: Int) {
        precondition(offset + 4 <= count)
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    func setU64(_ value: UInt64, at offset: Int) {
        precondition(offset + 8 <= count)
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }

    @inline(__always)
    func copy(_ bytes: [UInt8], at offset: Int) {
        precondition(offset + bytes.count <= count)
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(rebasing: self[offset..<(offset + source.count)])
                .copyMemory(from: source)
        }
    }
}
