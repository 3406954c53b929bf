import Foundation

/// A program started with `posix_spawnp`, for the lab, the benchmarks and the tests.
///
/// Why not Foundation's `Process`: on Linux its `run()` lists /proc/self/fd to find descriptors to
/// close in the child and traps when that listing comes back short, which happened in a loaded
/// test run with many programs starting at once on several threads. Here the child closes every
/// descriptor from 3 up in one spawn action (`closefrom`), so nothing is listed and nothing races.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `status` is guarded by `lock`; everything else is set once in init.

    /// Where one of the child's standard streams goes.
    public enum Stream {
        /// /dev/null.
        case null
        /// The same descriptor as this process's.
        case inherit
        /// A descriptor of this process (a pipe's end, an open file); the caller keeps and closes it.
        case descriptor(Int32)
        /// A file opened for appending, created if missing.
        case file(String)
        /// A new pipe; this process's end is `standardInput`, `standardOutput` or `standardError`.
        case pipe
    }

    public let processIdentifier: pid_t
    /// This process's ends of the pipes asked for with `.pipe` (writing for input, reading for the others).
    public let standardInput: FileHandle?, standardOutput: FileHandle?, standardError: FileHandle?
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `arguments` (the program found on PATH, or a path). `environment` replaces this
    /// process's when given. `passing`: a descriptor of ours the child gets as its descriptor 3
    /// (every other one from 3 up is closed). `newSession`: the child leads a session of its own
    /// (`setsid`), out of this process's terminal and process group.
    public init(_ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                input: Stream = .null, output: Stream = .null, errors: Stream = .null,
                passing: Int32? = nil, newSession: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // For each `.pipe`: the child's end (dup2'd into place, then closed here) and ours.
        var pipes: [Int32: (child: Int32, ours: Int32)] = [:]
        defer { for ends in pipes.values { close(ends.child) } }
        for (target, stream) in [(Int32(0), input), (1, output), (2, errors)] {
            switch stream {
            case .null: posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .inherit: break
            case .descriptor(let descriptor): posix_spawn_file_actions_adddup2(&actions, descriptor, target)
            case .file(let path): posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .pipe:
                var ends: [Int32] = [-1, -1]
                guard pipe2(&ends, O_CLOEXEC) == 0 else {
                    for ends in pipes.values { close(ends.ours) }
                    throw Shell.Failure(description: "pipe2: \(String(cString: strerror(errno)))")
                }
                pipes[target] = target == 0 ? (ends[0], ends[1]) : (ends[1], ends[0])
                posix_spawn_file_actions_adddup2(&actions, pipes[target]!.child, target)
            }
        }
        if let directory { _ = posix_spawn_file_actions_addchdir(&actions, directory) }
        if let passing { posix_spawn_file_actions_adddup2(&actions, passing, 3) }  // dup2 clears CLOEXEC
        _ = posix_spawn_file_actions_addclosefrom(&actions, passing == nil ? 3 : 4)

        // The child starts with default signal dispositions and nothing blocked: ignored signals
        // (SIGPIPE in a test runner) would otherwise stay ignored across exec.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        // 0x80: glibc's POSIX_SPAWN_SETSID, not visible to Swift.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (newSession ? 0x80 : 0)))

        var argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned: Int32
        if let environment {
            var envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for entry in envp { free(entry) } }
            spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, &envp)
        } else {
            spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, environ)
        }
        guard spawned == 0 else {
            for ends in pipes.values { close(ends.ours) }
            throw Shell.Failure(description: "cannot start \(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        processIdentifier = pid
        func ours(_ target: Int32) -> FileHandle? {
            pipes[target].map { FileHandle(fileDescriptor: $0.ours, closeOnDealloc: true) }
        }
        (standardInput, standardOutput, standardError) = (ours(0), ours(1), ours(2))
    }

    /// A child nobody waits for any more is still reaped when it ends, on a thread of its own:
    /// servers started and forgotten must not stay behind as zombies.
    deinit {
        guard status == nil else { return }
        let pid = processIdentifier
        Thread.detachNewThread {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
        }
    }

    /// Sends `signal` unless the child has been reaped (its pid may belong to another process by then).
    public func signal(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { kill(processIdentifier, signal) }
    }

    public func terminate() { signal(SIGTERM) }

    /// Whether the child has not ended yet (reaps it if it has).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return reap(blocking: false) == nil
    }

    /// Waits for the child to end; its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func waitUntilExit() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        return reap(blocking: true)!
    }

    /// The exit status (as `waitUntilExit` returns it) once the child has ended.
    public var terminationStatus: Int32 { waitUntilExit() }

    private func reap(blocking: Bool) -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        while true {
            let reaped = waitpid(processIdentifier, &raw, blocking ? 0 : WNOHANG)
            if reaped == -1 && errno == EINTR { continue }
            if reaped == 0 { return nil }
            if reaped == -1 { status = -1; return -1 }  // ECHILD: not ours to wait for any more
            break
        }
        // WIFEXITED/WEXITSTATUS are macros Swift does not import.
        let ended = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = ended
        return ended
    }
}

/// glibc 2.34's "close every descriptor from `from` up" spawn action; its header declares it only
/// for _GNU_SOURCE, which Swift's Glibc module does not define.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func posix_spawn_file_actions_addclosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// glibc 2.29's "change directory in the child" spawn action, declared only for _GNU_SOURCE too.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func posix_spawn_file_actions_addchdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32

/// pipe2(2), declared by glibc only for _GNU_SOURCE.
@_silgen_name("pipe2")
private func pipe2(_ ends: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
