import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Collects one answer, bounded, and knows whether its head came (a request cut off after that
/// may have been acted on, and is not sent again).
final class AnswerCollector: HTTPClientResponseDelegate {
    typealias Response = UnixHTTPClient.Response

    private struct State {
        var head: HTTPResponseHead?
        var body = ByteBuffer()
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var answered: Bool { state.withLock { $0.head != nil } }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        state.withLock { $0.head = head }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ part: ByteBuffer) -> EventLoopFuture<Void> {
        let tooLong = state.withLock { state in
            state.body.writeImmutableBuffer(part)
            return state.body.readableBytes > limit
        }
        guard !tooLong else {
            return task.eventLoop.makeFailedFuture(UnixHTTPClient.ConnectionError(description: "gwlbd's answer is longer than \(limit) bytes"))
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        guard let answer = answerSoFar else { throw UnixHTTPClient.ConnectionError(description: "gwlbd ended the answer without a head") }
        return answer
    }

    /// What came of the answer: nil before its head.
    var answerSoFar: Response? {
        state.withLock { state in
            guard let head = state.head else { return nil }
            var headers: [String: String] = [:]
            for (name, value) in head.headers { headers[name.lowercased()] = value }
            return Response(status: Int(head.status.code), headers: headers, body: Data(state.body.readableBytesView))
        }
    }
}

/// A stream's lines, from the event loop to the task that reads them. When `capacity` lines wait
/// unread, the next body part is not asked for until the reader took them: a slow reader slows
/// gwlbd's writes instead of filling memory.
final class LineFeed: HTTPClientResponseDelegate {
    typealias Response = Void

    enum End: Sendable {
        case finished
        /// The server answered with another status than 200; its body (at most 64 KiB).
        case refused(status: Int, body: Data)
        case failed(any Error)
    }

    struct Batch {
        var lines: [String]
        var end: End?
        var answered: Bool
    }

    static let capacity = 1024

    private struct State {
        var splitter = LineSplitter(limit: UnixHTTPClient.maximumLineLength)
        var lines: [String] = []
        var status: Int?
        var refusal = Data()
        var end: End?
        /// Completed when the reader took the waiting lines: the next body part may come.
        var resume: EventLoopPromise<Void>?
        /// The reader, waiting for lines or the end.
        var reader: CheckedContinuation<Void, Never>?

        var ready: Bool { !lines.isEmpty || end != nil }
    }

    private let state = Mutex(State())

    /// The lines that came since the last call (waiting for one when none did), and how the
    /// answer ended once it did.
    func next() async -> Batch {
        while true {
            let (batch, resume) = state.withLock { state -> (Batch?, EventLoopPromise<Void>?) in
                guard state.ready else { return (nil, nil) }
                let batch = Batch(lines: state.lines, end: state.end, answered: state.status != nil)
                state.lines.removeAll(keepingCapacity: true)
                defer { state.resume = nil }
                return (batch, state.resume)
            }
            resume?.succeed()
            if let batch { return batch }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state in
                    if !state.ready { state.reader = continuation }
                    return state.ready
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Changes the state and wakes the reader.
    private func update<T>(_ body: (inout State) throws -> T) rethrows -> T {
        let (result, reader) = try state.withLock { state -> (T, CheckedContinuation<Void, Never>?) in
            let result = try body(&state)
            guard state.ready, let reader = state.reader else { return (result, nil) }
            state.reader = nil
            return (result, reader)
        }
        reader?.resume()
        return result
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        update { $0.status = Int(head.status.code) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ part: ByteBuffer) -> EventLoopFuture<Void> {
        do {
            return try update { state in
                guard state.status == 200 else {
                    state.refusal.append(contentsOf: part.readableBytesView.prefix(max(0, 65_536 - state.refusal.count)))
                    return task.eventLoop.makeSucceededVoidFuture()
                }
                state.lines += try state.splitter.append(part.readableBytesView)
                guard state.lines.count >= Self.capacity else { return task.eventLoop.makeSucceededVoidFuture() }
                let promise = task.eventLoop.makePromise(of: Void.self)
                state.resume = promise
                return promise.futureResult
            }
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        update { state in
            guard state.end == nil else { return }
            state.end = state.status == 200 ? .finished : .refused(status: state.status ?? 0, body: state.refusal)
        }
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        let resume = update { state in
            if state.end == nil { state.end = .failed(error) }
            defer { state.resume = nil }
            return state.resume
        }
        resume?.fail(error)
    }
}

/// Splits bytes into newline-terminated lines (without the newline), refusing a line longer than
/// `limit`; an unterminated tail waits for more.
package struct LineSplitter {
    let limit: Int
    private var pending: [UInt8] = []

    package init(limit: Int) { self.limit = limit }

    package mutating func append(_ bytes: some Collection<UInt8>) throws -> [String] {
        var lines: [String] = []
        var rest = bytes[...]
        while let newline = rest.firstIndex(of: 0x0A) {
            try take(rest[..<newline])
            lines.append(String(decoding: pending, as: UTF8.self))
            pending.removeAll(keepingCapacity: true)
            rest = rest[rest.index(after: newline)...]
        }
        try take(rest)
        return lines
    }

    private mutating func take(_ bytes: some Collection<UInt8>) throws {
        guard pending.count + bytes.count <= limit else {
            throw UnixHTTPClient.ConnectionError(description: "a line of the stream is longer than \(limit) bytes")
        }
        pending.append(contentsOf: bytes)
    }
}
