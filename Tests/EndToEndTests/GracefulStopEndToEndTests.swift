import Foundation
import Lab
import Testing
import TestTraits

/// SIGTERM in the middle of a burst of changes: gwlbd stops taking connections, answers every
/// call it had started, ends its streams and exits 0 within 5 s. Judged from the clients' side
/// (a raw HTTP client on the socket, no retries): each call was answered, or refused at connect, or
/// still waiting in the listener's queue (reset unread); and from the store: after a restart it
/// holds exactly the answered changes, none of the others.
@Suite(.serialized, .blocking) struct GracefulStopEndToEndTests {
    /// `SOCKET TARGET_GROUP_ARNS SECONDS`: 8 threads, each registering new targets in its own target
    /// group (ARNS comma-separated, one per thread: a group holds at most 300) one call per
    /// connection until SECONDS pass; prints each call's outcome as JSON: `ok` (the target it
    /// registered), `refused` (no connection), `cut` (sent, then the connection ended without a
    /// whole answer), `failed` (an error answer).
    static let burst = #"""
        import json, socket, sys, threading, time
        path, arns, seconds = sys.argv[1], sys.argv[2].split(','), float(sys.argv[3])
        outcomes = {'ok': [], 'refused': 0, 'cut': [], 'failed': []}
        lock = threading.Lock()
        def call(arn, target):
            body = f'Action=RegisterTargets&Version=2015-12-01&TargetGroupArn={arn}&Targets.member.1.Id={target}'.encode()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            try:
                s.connect(path)
            except OSError:
                return 'refused'
            try:
                s.sendall(b'POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n'
                          b'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
                answer = b''
                while True:
                    chunk = s.recv(65536)
                    if not chunk: break
                    answer += chunk
            except OSError:
                return 'cut'
            finally:
                s.close()
            head, _, rest = answer.partition(b'\r\n\r\n')
            if not head.startswith(b'HTTP/1.1 '): return 'cut'
            length = [int(l.split(b':')[1]) for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:')]
            if length and len(rest) < length[0]: return 'cut'
            return 'ok' if head.startswith(b'HTTP/1.1 200') else 'failed: ' + rest[:200].decode(errors='replace')
        def worker(number):
            n = 0
            end = time.time() + seconds
            while time.time() < end:
                n += 1
                index = number * 10000 + n
                target = f'198.{18 + index // 62500}.{(index // 250) % 250}.{1 + index % 250}'
                outcome = call(arns[number], target)
                with lock:
                    if outcome == 'ok': outcomes['ok'].append(target)
                    elif outcome == 'refused': outcomes['refused'] += 1
                    elif outcome == 'cut': outcomes['cut'].append(target)
                    else: outcomes['failed'].append(outcome)
                if outcome == 'refused': time.sleep(0.05)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps(outcomes), flush=True)
        """#

    @Test func sigtermDuringABurstOfChangesAnswersEveryCallItStarted() throws {
        let api = try APIDaemonFixture()
        defer { api.tearDown() }
        try api.start()
        let groups = try (0..<8).map { index in
            try APIDaemonFixture.first(api.json(["create-target-group", "--name", "burst\(index)", "--protocol", "GENEVE", "--port", "6081"]),
                                       "TargetGroups", "TargetGroupArn")
        }
        let daemon = try #require(api.daemon)
        // A console's stream is open too: it must end, not hold gwlbd up.
        let stream = try ChildProcess(["curl", "-sN", "--unix-socket", api.socket, "http://localhost/v1/stream"], output: .null)
        defer { stream.terminate() }
        let burst = try ChildProcess(["python3", "-c", Self.burst, api.socket, groups.joined(separator: ","), "6"], output: .pipe, errors: .pipe)
        let burstErrors = Shell.PipeReader(burst.standardError!)
        sleep(2)
        let signalled = ContinuousClock.now
        daemon.signal(SIGTERM)
        let status = daemon.waitUntilExit()
        let stopping = ContinuousClock.now - signalled
        let text = String(decoding: burst.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: burstErrors.wait(), as: UTF8.self)
        #expect(status == 0, "gwlbd exits 0 on SIGTERM")
        #expect(stopping < .seconds(5), "gwlbd took \(stopping) to stop")
        let outcomes = try #require((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any], "\(text) \(problems)")
        let acknowledged = Set(outcomes["ok"] as? [String] ?? [])
        let cut = outcomes["cut"] as? [String] ?? []
        #expect(acknowledged.count >= 20 && (outcomes["refused"] as? Int ?? 0) > 0, "calls before and after the stop: \(outcomes.mapValues { ($0 as? [Any])?.count ?? $0 })")
        #expect((outcomes["failed"] as? [String] ?? []).isEmpty, "\(outcomes["failed"] ?? [])")
        let log = try String(contentsOfFile: api.logPath, encoding: .utf8)
        #expect(log.contains("gwlbd: stopping\n"), "every call answered within 4 s: \(log.suffix(1500))")

        // The store holds exactly what was acknowledged: nothing lost, nothing half-applied.
        try api.start()
        let registered = try groups.reduce(into: Set<String>()) { $0.formUnion(try api.health($1).keys) }
        // A call whose connection ended unanswered was never read: the listener's queue is reset.
        let appliedUnanswered = registered.intersection(cut)
        let lost = acknowledged.subtracting(registered), unacknowledged = registered.subtracting(acknowledged)
        print("graceful stop: \(acknowledged.count) calls answered, \(cut.count) queued and never read, \(outcomes["refused"] ?? 0) refused after the stop")
        #expect(appliedUnanswered.isEmpty, "applied but never answered: \(appliedUnanswered.sorted())")
        #expect(lost.isEmpty && unacknowledged.isEmpty, "acknowledged but lost: \(lost.sorted()); stored, not acknowledged: \(unacknowledged.sorted())")
    }
}
