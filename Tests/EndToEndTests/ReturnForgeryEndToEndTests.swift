import Foundation
import Lab
import Testing
import TestTraits

/// Someone on the appliance network who spoofs an appliance's address and has seen one GENEVE
/// header (here: sniffed off the appliance's link) sends that header back with a packet of another
/// flow behind it, aimed at the client. gwlbd drops it (`return_flow_mismatch`) while the flow's
/// own packets pass; with `innerFlowCheck` off, the forged packet reaches the client.
@Suite(.serialized, .blocking) struct ReturnForgeryEndToEndTests {
    /// In the appliance's namespace: waits for the first GENEVE datagram from gwlbd, then sends its
    /// header back from the appliance's address twice: with a forged inner packet (198.18.66.6 →
    /// the client) and with a genuine reply of the flow (the server → the client).
    static let forger = #"""
    import socket, struct, sys
    appliance, gwlbd, client = sys.argv[1], sys.argv[2], sys.argv[3]
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sniffer.settimeout(10)
    print("ready", flush=True)
    while True:
        frame = sniffer.recv(65535)[14:]
        ihl = (frame[0] & 15) * 4
        if frame[9] != 17 or struct.unpack("!H", frame[ihl + 2:ihl + 4])[0] != 6081:
            continue
        payload = frame[ihl + 8:]
        header = payload[:8 + (payload[0] & 63) * 4]
        break

    def checksum(data):
        total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    def udp_packet(source, destination, source_port, destination_port, data):
        udp = struct.pack("!HHHH", source_port, destination_port, 8 + len(data), 0) + data
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                         socket.inet_aton(source), socket.inet_aton(destination))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        return ip + udp

    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind((appliance, 0))
    out.sendto(header + udp_packet("198.18.66.6", client, 5353, 7000, b"forged"), (gwlbd, 6081))
    out.sendto(header + udp_packet("198.18.20.2", client, 7001, 7000, b"genuine"), (gwlbd, 6081))
    print("sent", flush=True)
    """#

    /// In the client's namespace: sends one datagram of the flow (7000 → the server's 7001), then
    /// prints what arrives on port 7000 for 3 seconds.
    static let client = #"""
    import socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], 7000))
    s.sendto(b"hello", (sys.argv[2], 7001))
    s.settimeout(0.5)
    end = time.time() + 3
    while time.time() < end:
        try:
            data, peer = s.recvfrom(2048)
            print(data.decode(), peer[0])
        except socket.timeout:
            pass
    """#

    func attempt(_ lab: LabFixture) throws -> String {
        let forger = try ChildProcess(["ip", "netns", "exec", lab.lab.appliance(1), "python3", "-c", Self.forger,
                                       Lab.applianceAddress(1), Lab.geneveAddress, Lab.clientAddress], output: .pipe)
        // Sniffing before the client sends.
        let ready = forger.standardOutput!.availableData
        #expect(String(decoding: ready, as: UTF8.self).contains("ready"))
        let received = try lab.python(lab.lab.client, Self.client, arguments: [Lab.clientAddress, Lab.serverAddress])
        forger.waitUntilExit()
        #expect(forger.terminationStatus == 0, "the forger saw no GENEVE datagram")
        return received.output
    }

    @Test func aForgedInnerPacketIsDroppedAndTheFlowsOwnPasses() throws {
        let lab = try LabFixture(appliances: 1)
        defer { lab.tearDown() }
        let received = try attempt(lab)
        #expect(received.contains("genuine 198.18.20.2"), "the flow's own packet passes: \(received)")
        #expect(!received.contains("forged"), "the forged packet reached the client: \(received)")
        #expect(try lab.drops("return_flow_mismatch", settlingAt: 1) == 1)
    }

    @Test func withTheCheckOffTheForgedPacketGoesThrough() throws {
        let lab = try LabFixture(appliances: 1, startDaemon: false)
        defer { lab.tearDown() }
        let path = lab.lab.daemonConfigurationPath
        var configuration = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
        configuration["innerFlowCheck"] = false
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: path))
        try lab.start()
        let received = try attempt(lab)
        #expect(received.contains("forged 198.18.66.6") && received.contains("genuine 198.18.20.2"), "\(received)")
        #expect(try lab.drops("return_flow_mismatch") == 0)
    }
}
