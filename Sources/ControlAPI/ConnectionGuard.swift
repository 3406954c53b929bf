import NIOCore
import Synchronization

/// Limits of a TCP listener that anyone on the network may reach (`--api-listen`,
/// `--metrics-listen`): how many connections at once, how long a connection may take to deliver a
/// whole request head (TLS handshake included: slowloris and silent connections), how long it may
/// sit idle between requests, and the largest body.
public struct ListenerLimits: Sendable {
    public var maximumConnections = 256
    public var headTimeout: TimeAmount = .seconds(10)
    public var idleTimeout: TimeAmount = .seconds(60)
    /// From a request's head to its answer: a body trickled slower than this is cut off.
    public var requestTimeout: TimeAmount = .seconds(30)
    public var maximumBody = 1 << 20

    public init() {}
}

/// Counts a listener's connections and refuses those past its limit.
public final class ConnectionCounter: Sendable {
    public let limits: ListenerLimits
    private let open = Atomic<Int>(0)
    /// Connections closed at once because the limit was reached, or for taking too long.
    let refused = Atomic<UInt64>(0)
    let timedOut = Atomic<UInt64>(0)

    public init(limits: ListenerLimits) { self.limits = limits }

    public var refusedConnections: UInt64 { refused.load(ordering: .relaxed) }
    public var timedOutConnections: UInt64 { timedOut.load(ordering: .relaxed) }

    var current: Int { open.load(ordering: .relaxed) }

    /// Takes a place; false when every place is taken.
    func enter() -> Bool {
        if open.add(1, ordering: .relaxed).newValue > limits.maximumConnections {
            open.subtract(1, ordering: .relaxed)
            refused.add(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() { open.subtract(1, ordering: .relaxed) }
}

/// In each connection's pipeline, after HTTP decoding: closes the connection when the listener is
/// full, or when no complete request head arrived within `headTimeout` of the connection's start
/// (or of the previous response).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPartLike
    typealias InboundOut = HTTPRequestPartLike
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let counter: ConnectionCounter
    private var entered = false
    private var deadline: Scheduled<Void>?
    private var inRequest = false

    init(counter: ConnectionCounter) { self.counter = counter }

    func handlerAdded(context: ChannelHandlerContext) {

        guard counter.enter() else {

            context.close(promise: nil)
            return
        }
        entered = true
        arm(context, counter.limits.headTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        if entered {
            entered = false
            counter.leave()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A request is under way: it has `requestTimeout` to be read and answered.
        if !inRequest {
            inRequest = true
            arm(context, counter.limits.requestTimeout)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {

        context.flush()
        // After an answer the next request's head has the same time to arrive.
        inRequest = false
        arm(context, counter.limits.headTimeout)
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount) {
        deadline?.cancel()
        let counter = self.counter
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            counter.timedOut.add(1, ordering: .relaxed)
            loopBound.value.close(promise: nil)
        }
    }
}

/// The decoded parts the guard passes through untouched (it only watches their arrival).
typealias HTTPRequestPartLike = NIOAny
