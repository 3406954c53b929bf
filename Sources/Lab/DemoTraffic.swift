/// The demo's traffic, as Python programs the lab runs in its namespaces (Python 3 is on every
/// machine the lab runs on; ICMP goes through a raw socket, so no ping is needed).
public enum DemoTraffic {
    /// `server`: echoes TCP on 7001 and 23 (telnet, which one appliance's rule drops) and UDP on 7002.
    public static let server = """
        import socket, threading
        def echo_tcp(connection):
            with connection:
                while True:
                    data = connection.recv(65536)
                    if not data:
                        return
                    connection.sendall(data)
        def serve_tcp(port):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(('0.0.0.0', port))
            listener.listen(256)
            while True:
                connection, _ = listener.accept()
                threading.Thread(target=echo_tcp, args=(connection,), daemon=True).start()
        for port in (7001, 23):
            threading.Thread(target=serve_tcp, args=(port,), daemon=True).start()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(('0.0.0.0', 7002))
        while True:
            data, peer = udp.recvfrom(65536)
            udp.sendto(data, peer)
        """

    /// `client SERVER`: a changing mix of flows, about four new ones a second, each living a few
    /// seconds: TCP conversations, UDP exchanges, ICMP echoes, now and then a telnet attempt (one
    /// appliance drops those) and an 8,600-byte datagram with DF (gwlbd drops those as oversize and
    /// answers with ICMP "fragmentation needed", naming 8,500).
    public static let client = """
        import os, random, socket, struct, sys, threading, time
        server = sys.argv[1]
        def tcp():
            try:
                with socket.create_connection((server, 7001), timeout=3) as s:
                    for _ in range(random.randint(3, 30)):
                        s.sendall(os.urandom(random.randint(20, 1200)))
                        s.recv(65536)
                        time.sleep(random.uniform(0.1, 0.6))
            except OSError:
                pass
        def udp():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(1)
                for _ in range(random.randint(3, 40)):
                    try:
                        s.sendto(os.urandom(random.randint(20, 1200)), (server, 7002))
                        s.recvfrom(65536)
                    except OSError:
                        pass
                    time.sleep(random.uniform(0.1, 0.5))
        def checksum(data):
            total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
            total = (total >> 16) + (total & 0xFFFF)
            return ~(total + (total >> 16)) & 0xFFFF
        def icmp():
            with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
                s.settimeout(1)
                ident = random.randint(0, 0xFFFF)
                for sequence in range(random.randint(3, 20)):
                    payload = os.urandom(56)
                    header = struct.pack('!BBHHH', 8, 0, 0, ident, sequence)
                    s.sendto(struct.pack('!BBHHH', 8, 0, checksum(header + payload), ident, sequence) + payload, (server, 0))
                    try:
                        s.recv(2048)
                    except OSError:
                        pass
                    time.sleep(random.uniform(0.2, 0.8))
        def telnet():
            try:
                socket.create_connection((server, 23), timeout=2).close()
            except OSError:
                pass
        def oversize():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                # IP_MTU_DISCOVER = IP_PMTUDISC_PROBE: DF set, and sent whole even once the client has
                # learnt gwlb's 8,500-byte limit from its ICMP (which would otherwise refuse it locally).
                s.setsockopt(socket.IPPROTO_IP, 10, 3)
                try:
                    s.sendto(b'x' * 8600, (server, 7002))
                except OSError:
                    pass
        kinds, weights = [tcp, udp, icmp, telnet, oversize], [5, 4, 2, 1, 0.3]
        while True:
            if threading.active_count() < 80:
                threading.Thread(target=random.choices(kinds, weights)[0], daemon=True).start()
            time.sleep(random.uniform(0.1, 0.4))
        """
}
