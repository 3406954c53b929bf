import Foundation
import Lab
import Logging
import Telemetry
#if canImport(Glibc)
import Glibc
#endif

/// Telling whoever started gwlbd that it runs: systemd, by its notify protocol (`NOTIFY_SOCKET`,
/// for a `Type=notify` unit: `READY=1` with gwlbd's pid as `MAINPID`, so a gwlbd that took over
/// becomes the unit's main process; `STOPPING=1`), and the parent of a `--detach`ed gwlbd (the
/// descriptor `GWLBD_READY_FD` names, closed once written).
enum Readiness {
    static let readyDescriptorVariable = "GWLBD_READY_FD"

    /// gwlbd forwards and answers: say so, once.
    static func ready() {
        notifySystemd("MAINPID=\(getpid())\nREADY=1")
        if let text = getenv(readyDescriptorVariable), let descriptor = Int32(String(cString: text)) {
            unsetenv(readyDescriptorVariable)
            _ = write(descriptor, "1", 1)
            close(descriptor)
        }
    }

    static func stopping() { notifySystemd("STOPPING=1") }

    /// One datagram to `NOTIFY_SOCKET` when it is set (a path, or `@name` in the abstract namespace).
    static func notifySystemd(_ message: String) {
        guard let socketPath = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !socketPath.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(socketPath.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        _ = message.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), $0, length) }
            }
        }
    }
}

/// `gwlbd --detach`: starts this gwlbd again without `--detach`, in a session of its own, and
/// returns once it runs (status 0, its pid said) or has failed (status 1; its reasons went to the
/// same standard error). For `ExecReload=` in a systemd unit, where the command must end: the
/// gwlbd it leaves behind stays in the unit and, taking over, becomes its main process.
enum Detach {
    static func run(arguments: [String]) -> Int32 {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            Logger.gwlbd.error("--detach: pipe: \(String(cString: strerror(errno)))")
            return 1
        }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        defer { close(readEnd) }
        // The child gets the write end as its descriptor 3, and says it runs by writing there.
        var environment = ProcessInfo.processInfo.environment
        environment[Readiness.readyDescriptorVariable] = "3"
        let child: ChildProcess
        do {
            defer { close(writeEnd) }
            // This very program (its path, so that `ps` and the unit name it as it is).
            child = try ChildProcess([CommandLine.selfExecutable] + arguments.dropFirst().filter { $0 != "--detach" }, environment: environment,
                                     input: .inherit, output: .inherit, errors: .inherit, passing: writeEnd, newSession: true)
        } catch {
            Logger.gwlbd.error("--detach: cannot start gwlbd: \(error)")
            return 1
        }
        let pid = child.processIdentifier
        var byte: UInt8 = 0
        var count = read(readEnd, &byte, 1)
        while count < 0, errno == EINTR { count = read(readEnd, &byte, 1) }
        if count == 1 {
            print("gwlbd: running as pid \(pid)")
            return 0
        }
        let status = child.waitUntilExit()
        Logger.gwlbd.error("--detach: gwlbd (pid \(pid)) ended before it ran, with status \(status) (its reasons are above)")
        return 1
    }
}
