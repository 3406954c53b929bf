/// Real GENEVE frames captured with AWS's open-source appliance tunnel handler
/// (aws-samples/aws-gateway-load-balancer-tunnel-handler), outer IPv4 header first.
public enum GoldenFrames {
    /// gwlb → appliance: 198.18.0.1:50000 → 198.18.0.2:6081, endpoint 0x0123456789abcdef,
    /// attachment 0x1122334455667788, cookie 0xdeadbeef; inner UDP 198.18.100.1:40000 → 198.18.200.2:5001
    /// carrying "gwlbtun-interop-probe".
    public static let toAppliance = [UInt8](hex: """
        45000075000100004011ee4fc6120001c6120002c35017c10061ea140800080000000000010801020123456789abcdef\
        01080202112233445566778801080301deadbeef45000031000100004011c292c6126401c612c8029c401389001ddbfe\
        67776c6274756e2d696e7465726f702d70726f6265
        """)

    /// The appliance's reply: outer addresses swapped, source port kept, TTL 2, UDP checksum 0,
    /// GENEVE header and options unchanged.
    public static let fromAppliance = [UInt8](hex: """
        45000075e149000002114b07c6120002c6120001c35017c1006100000800080000000000010801020123456789abcdef\
        01080202112233445566778801080301deadbeef45000031000100004011c292c6126401c612c8029c401389001ddbfe\
        67776c6274756e2d696e7465726f702d70726f6265
        """)

    public static let endpointID: UInt64 = 0x0123_4567_89AB_CDEF
    public static let attachmentID: UInt64 = 0x1122_3344_5566_7788
    public static let cookie: UInt32 = 0xDEAD_BEEF
    /// Offsets in both frames.
    public static let genevePayloadOffset = 28
    public static let innerOffset = 68
}
