/// Small programs tests and benchmarks run in the lab's namespaces (python3, from Debian).
public enum LabPrograms {
    /// `python3 -c tcpEcho PORT`: a TCP echo server on PORT, every byte back on every connection
    /// (one thread, selectors), for long-lived connections through gwlbd.
    public static let tcpEcho = """
        import selectors, socket, sys
        sel = selectors.DefaultSelector()
        listener = socket.socket(); listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('0.0.0.0', int(sys.argv[1]))); listener.listen(1024); sel.register(listener, selectors.EVENT_READ)
        while True:
            for key, _ in sel.select():
                if key.fileobj is listener:
                    connection, _ = listener.accept(); sel.register(connection, selectors.EVENT_READ)
                else:
                    try:
                        data = key.fileobj.recv(65536)
                    except OSError:
                        data = b''
                    if data: key.fileobj.sendall(data)
                    else: sel.unregister(key.fileobj); key.fileobj.close()
        """
}
