import Wire

/// AWS's receiver rules written out plainly over the generic GENEVE parser, to judge the fast
/// in-place parser (`AWSGeneveMetadata`) against: both must accept the same datagrams and read the
/// same fields from them.
enum GeneveDifferential {
    struct Verdict: Equatable {
        var endpointID: UInt64, attachmentID: UInt64, cookie: UInt32, innerOffset: Int, protocolType: UInt16
    }

    static func check(_ bytes: UnsafeRawBufferPointer) {
        let fast = try? AWSGeneveMetadata(parsing: bytes)
        let plain = reference(bytes)
        let fastVerdict = fast.map { Verdict(endpointID: $0.endpointID, attachmentID: $0.attachmentID, cookie: $0.cookie,
                                             innerOffset: $0.innerOffset, protocolType: $0.protocolType) }
        precondition(fastVerdict == plain, "GENEVE parsers disagree: fast \(String(describing: fastVerdict)), reference \(String(describing: plain))")
    }

    static func reference(_ bytes: UnsafeRawBufferPointer) -> Verdict? {
        guard let header = try? GeneveHeader(parsing: bytes), !header.isControl else { return nil }
        let inner: UInt8
        switch header.protocolType {
        case Geneve.protocolTypeIPv4: inner = 4
        case Geneve.protocolTypeIPv6: inner = 6
        default: return nil
        }
        var endpointID: UInt64?, attachmentID: UInt64?, cookie: UInt32?
        for option in header.options {
            var understood = false
            if option.optionClass == Geneve.awsOptionClass {
                let value = option.data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                switch (option.type, option.data.count) {
                case (Geneve.awsEndpointIDType, 8): endpointID = value; understood = true
                case (Geneve.awsAttachmentIDType, 8): attachmentID = value; understood = true
                case (Geneve.awsFlowCookieType, 4): cookie = UInt32(value); understood = true
                default: break
                }
            }
            if !understood, header.hasCriticalOptions || option.isCritical { return nil }
        }
        let innerOffset = header.encodedLength
        guard innerOffset < bytes.count, bytes[innerOffset] >> 4 == inner,
              let endpointID, let attachmentID, let cookie else { return nil }
        return Verdict(endpointID: endpointID, attachmentID: attachmentID, cookie: cookie, innerOffset: innerOffset,
                       protocolType: header.protocolType)
    }
}
