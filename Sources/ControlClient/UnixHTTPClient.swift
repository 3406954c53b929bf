import AsyncHTTPClient
import ControlContract
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// HTTP/1.1 to gwlbd's Unix socket through AsyncHTTPClient (`http+unix` URLs): the HTTP parsing,
/// chunked decoding and timeouts are the library's. Its callers block (the `gwlb` command line, the
/// console's readers): a call waits for the event loop's future, which needs none of Swift's shared
/// threads, so a caller on one of them cannot starve its own answer. One request per connection
/// (`Connection: close`): a pooled connection would outlive a gwlbd that hands over to its successor.
public struct UnixHTTPClient: Sendable {
    public let socketPath: String
    /// Seconds a call may take in all, and a stream may wait between two reads.
    public var timeoutSeconds: Int
    /// Names the program in gwlbd's audit trail.
    public var userAgent = "gwlb-cli"

    /// A stream line longer than this is an error (gwlbd's are a few KiB).
    public static let maximumLineLength = 16 << 20
    /// An answer longer than this is an error (gwlbd's largest, a page of 400 targets or a
    /// `/v1/flows` of 100,000 flows, stay under a tenth of it).
    public static let maximumBodyLength = 256 << 20

    public init(socketPath: String, timeoutSeconds: Int = 30) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
    }

    public struct Response: Sendable {
        public let status: Int
        /// By lowercased name.
        public let headers: [String: String]
        public let body: Data
    }

    /// Why a request did not get an answer, said so an operator knows what to do.
    public struct ConnectionError: Error, CustomStringConvertible {
        public let description: String
        /// The request got no answer at all: gwlbd closed the connection before a byte of one. A
        /// gwlbd handing over to its successor does that to connections it accepted but will not
        /// serve, having acted on nothing; one that crashed may have acted. Either way the request
        /// can be sent again: elbv2's calls are idempotent, which is why botocore retries them too.
        public var unanswered: Bool
        public init(description: String, unanswered: Bool = false) {
            self.description = description
            self.unanswered = unanswered
        }
    }

    /// One call, waiting on the calling thread: for callers that block anyway (the command line).
    public func request(_ method: String, _ path: String, body: Data = Data(), contentType: String? = nil) throws -> Response {
        let (task, collector) = try start(method, path, body: body, contentType: contentType)
        do {
            return try task.futureResult.wait()
        } catch {
            return try refusal(collector) ?? { throw explain(error, answered: collector.answered) }()
        }
    }

    /// One call, from a task.
    public func request(_ method: String, _ path: String, body: Data = Data(), contentType: String? = nil) async throws -> Response {
        let (task, collector) = try start(method, path, body: body, contentType: contentType)
        do {
            return try await withTaskCancellationHandler { try await task.futureResult.get() } onCancel: { task.cancel() }
        } catch {
            return try refusal(collector) ?? { throw explain(error, answered: collector.answered) }()
        }
    }

    /// gwlbd may refuse a request before reading all of it (413 for a body too large) and close
    /// the connection while the body is still being sent: its answer, when it came, says why.
    private func refusal(_ collector: AnswerCollector) -> Response? {
        guard let answer = collector.answerSoFar, answer.status >= 400 else { return nil }
        return answer
    }

    private func start(_ method: String, _ path: String, body: Data, contentType: String?) throws -> (HTTPClient.Task<Response>, AnswerCollector) {
        let collector = AnswerCollector(limit: Self.maximumBodyLength)
        let request = try httpRequest(method, path, body: body, contentType: contentType)
        let task = Self.client(timeoutSeconds: timeoutSeconds)
            .execute(request: request, delegate: collector, deadline: .now() + .seconds(Int64(timeoutSeconds)))
        return (task, collector)
    }

    /// Opens a streaming GET and calls `line` for each newline-terminated line of the body until
    /// it returns false, the server ends the answer or the task is cancelled. A read waits at most
    /// `timeoutSeconds`. A slow `line` holds back the server (at most `LineFeed.capacity` lines wait).
    public func streamLines(_ path: String, line: (String) async throws -> Bool) async throws {
        let feed = LineFeed()
        let task = Self.client(timeoutSeconds: timeoutSeconds).execute(request: try httpRequest("GET", path, body: Data(), contentType: nil), delegate: feed)
        defer { task.cancel() }
        try await withTaskCancellationHandler {
            while true {
                let batch = await feed.next()
                for text in batch.lines {
                    guard try await line(text) else { return }
                }
                switch batch.end {
                case nil: continue
                case .finished: return
                case .refused(let status, let body):
                    // gwlbd says why in a JSON body: {"error": "…"}.
                    let answer = try? ContractCoding.decode(ErrorAnswer.self, from: body)
                    throw ConnectionError(description: answer?.error ?? "GET \(path) answered HTTP \(status)")
                case .failed(let error):
                    if Task.isCancelled { throw CancellationError() }
                    throw explain(error, answered: batch.answered)
                }
            }
        } onCancel: { task.cancel() }
    }

    private func httpRequest(_ method: String, _ path: String, body: Data, contentType: String?) throws -> HTTPClient.Request {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw ConnectionError(description: "cannot make a URL of the socket path \(socketPath) and \(path)")
        }
        var headers: HTTPHeaders = ["User-Agent": userAgent, "Connection": "close"]
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        return try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method), headers: headers, body: body.isEmpty ? nil : .bytes(body))
    }

    /// The library's error in the operator's words.
    func explain(_ error: any Error, answered: Bool) -> ConnectionError {
        if let error = error as? ConnectionError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .remoteConnectionClosed:
                return answered ? ConnectionError(description: "gwlbd closed the connection mid-answer (\(socketPath))")
                    : ConnectionError(description: "gwlbd closed the connection before answering (\(socketPath))", unanswered: true)
            case .readTimeout, .deadlineExceeded, .connectTimeout:
                return ConnectionError(description: "gwlbd did not answer in time (\(socketPath))")
            default: break
            }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ENOENT, ECONNREFUSED:
                return ConnectionError(description: "cannot connect to \(socketPath): \(String(cString: strerror(error.errnoCode))); is gwlbd running with --state-dir? (or give --socket PATH)")
            case EACCES:
                return ConnectionError(description: "cannot connect to \(socketPath): \(String(cString: strerror(error.errnoCode))); the socket is mode 0660: run as root or as a member of its group")
            case ECONNRESET, EPIPE:
                // A reset before any answer came: see `unanswered`.
                return ConnectionError(description: "gwlbd reset the connection (\(socketPath))", unanswered: !answered)
            default:
                return ConnectionError(description: "\(socketPath): \(String(cString: strerror(error.errnoCode)))")
            }
        }
        if case SocketAddressError.unixDomainSocketPathTooLong = error {
            return ConnectionError(description: "socket path \(socketPath) is longer than \(MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1) bytes")
        }
        if let error = error as? HTTPParserError, error == .invalidEOFState {
            // The connection ended inside the answer: something of it came, so gwlbd may have acted.
            return ConnectionError(description: "gwlbd closed the connection mid-answer (\(socketPath))")
        }
        if error is HTTPParserError {
            return ConnectionError(description: "gwlbd's answer is not valid HTTP (\(error)) (\(socketPath))")
        }
        return ConnectionError(description: "\(socketPath): \(error)")
    }

    /// One client per timeout, for the life of the process (a client is never shut down: it
    /// holds no connection between calls). A refused connection is said at once, not retried.
    private static let clients = Mutex<[Int: HTTPClient]>([:])

    private static func client(timeoutSeconds: Int) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[timeoutSeconds] { return client }
            var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                         timeout: .init(connect: .seconds(Int64(timeoutSeconds)), read: .seconds(Int64(timeoutSeconds))))
            configuration.connectionPool.retryConnectionEstablishment = false
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[timeoutSeconds] = client
            return client
        }
    }
}
