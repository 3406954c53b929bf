/// Small Python clients and servers the end-to-end tests run inside the lab's namespaces.
enum Programs {
    /// `udpEcho ADDRESS PORT`: answers every datagram with itself.
    static let udpEcho = """
        import socket, sys
        family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
        s = socket.socket(family, socket.SOCK_DGRAM)
        # Room for a burst of every client's datagram at once, even on a busy machine.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((sys.argv[1], int(sys.argv[2])))
        while True:
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)
        """

    /// `udpClients HOST PORT FLOWS ROUNDS`: FLOWS sockets (one flow each) send ROUNDS datagrams
    /// each and wait for the echoes, 50 flows at a time so no queue on the way overflows; prints
    /// how many came back.
    static let udpClients = """
        import socket, sys
        host, port, flows, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        family = socket.AF_INET6 if ':' in host else socket.AF_INET
        sockets = []
        for _ in range(flows):
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.settimeout(3)
            s.bind(('', 0))
            sockets.append(s)
        answered = 0
        for _ in range(rounds):
            for start in range(0, flows, 50):
                wave = sockets[start:start + 50]
                for s in wave:
                    s.sendto(b'gwlb' * 8, (host, port))
                for s in wave:
                    try:
                        s.recvfrom(100)
                        answered += 1
                    except OSError:
                        pass
        print(answered)
        """

    /// `send HEX`: one datagram with these bytes to gwlbd's GENEVE port.
    static let sendDatagram = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(bytes.fromhex(sys.argv[1]), ('198.18.1.1', 6081))
        """
}
