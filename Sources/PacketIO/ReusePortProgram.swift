/// The classic BPF program that sends a returning GENEVE datagram to the socket of the worker that
/// owns its flow, so it is read there and never handed over: the owner is the flow cookie's top
/// bits (`FlowCookieCodec` keeps them in the clear), and sockets of the SO_REUSEPORT group are
/// numbered in the order they were bound, worker 0 first. A datagram whose header is not laid out
/// as gwlb sent it (an appliance that reordered the options) goes by the kernel's hash instead,
/// and the worker that reads it hands it over (counted as `handed_off`).
public enum ReusePortProgram {
    /// Linux's `struct sock_filter`.
    public struct Instruction: Equatable {
        public var code: UInt16
        public var jumpTrue: UInt8
        public var jumpFalse: UInt8
        public var constant: UInt32

        public init(code: UInt16, jumpTrue: UInt8 = 0, jumpFalse: UInt8 = 0, constant: UInt32) {
            self.code = code
            self.jumpTrue = jumpTrue
            self.jumpFalse = jumpFalse
            self.constant = constant
        }
    }

    // Opcodes (linux/bpf_common.h).
    static let loadWordAbsolute: UInt16 = 0x20      // BPF_LD | BPF_W | BPF_ABS
    static let jumpIfEqual: UInt16 = 0x15           // BPF_JMP | BPF_JEQ | BPF_K
    static let shiftRight: UInt16 = 0x74            // BPF_ALU | BPF_RSH | BPF_K
    static let returnAccumulator: UInt16 = 0x16     // BPF_RET | BPF_A
    static let returnConstant: UInt16 = 0x06        // BPF_RET | BPF_K

    /// In the UDP payload (where the program's loads start): the flow-cookie option's header and
    /// data in AWS's 40-byte GENEVE header.
    public static let cookieOptionOffset: UInt32 = 32
    static let cookieOptionHeader: UInt32 = 0x0108_0301   // class 0x0108, type 3, 1 word

    /// The program for cookies with `ownerBits` owner bits (1...6).
    public static func steeringByOwner(ownerBits: Int) -> [Instruction] {
        precondition((1...6).contains(ownerBits))
        return [
            Instruction(code: loadWordAbsolute, constant: cookieOptionOffset),
            Instruction(code: jumpIfEqual, jumpTrue: 0, jumpFalse: 3, constant: cookieOptionHeader),
            Instruction(code: loadWordAbsolute, constant: cookieOptionOffset + 4),
            Instruction(code: shiftRight, constant: UInt32(32 - ownerBits)),
            Instruction(code: returnAccumulator, constant: 0),
            // An index past the group: the kernel falls back to its hash.
            Instruction(code: returnConstant, constant: UInt32.max),
        ]
    }
}
