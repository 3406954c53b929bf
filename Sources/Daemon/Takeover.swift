import CGWLBLinux
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A seamless upgrade, `gwlbd --takeover` (README "Upgrades without a gap"):
/// 1. the new gwlbd connects to the running one's takeover socket and says what it is (`Request`);
/// 2. the running one checks that they agree (workers, GENEVE address, offloads, shared flow
///    state), freezes its control plane (a change gets `ServiceUnavailable`, which clients retry;
///    reads are still answered), stops its workers once they have sent on everything they read,
///    lets go of the shared flow state and answers with its endpoint devices' queues and its GENEVE
///    sockets (`Offer`, the descriptors beside it);
/// 3. the new one takes the flow state over, builds its data plane on those descriptors, starts its
///    workers, control plane and API (its socket replaces the old one's in one rename) and says
///    `Started`;
/// 4. the old one exits. Should the connection end before `Started`, it takes everything back and
///    carries on, unless the new one holds the flow state (then it cannot, and it exits).
/// Packets that arrive meanwhile wait in the devices' and sockets' queues, which both processes
/// share: none is lost, none is read twice.
enum Takeover {
    /// Where a gwlbd listens for its successor: beside its API socket, root only.
    static func socketPath(apiSocket: String) -> String { apiSocket + ".takeover" }

    /// What the new gwlbd is; the running one refuses a successor that would need other resources.
    struct Request: Codable, Sendable {
        var version: String
        var pid: Int32
        var workers: Int
        var geneve: String
        var offloads: Bool
        var sharedState: String?
    }

    /// What the running gwlbd hands over: after it, the GENEVE sockets (one per worker, in worker
    /// order) and then each endpoint's queues (one per worker), as descriptors.
    struct Offer: Codable, Sendable {
        /// Set when the takeover is refused (then nothing else is).
        var refusal: String?
        var version = ""
        var pid: Int32 = 0
        var workers = 0
        var endpoints: [Endpoint] = []

        struct Endpoint: Codable, Sendable {
            var slot: Int
            var interface: String
            var offloadFlags: UInt32
        }

        var descriptorCount: Int { workers * (1 + endpoints.count) }
    }

    struct Started: Codable, Sendable {
        var pid: Int32
    }

    /// Why `request` cannot take over from a gwlbd that has `own`; nil when it can.
    static func refusal(of request: Request, own: Request) -> String? {
        if request.workers != own.workers { return "the running gwlbd has \(own.workers) workers, the new one \(request.workers): the flow tables and queues are per worker" }
        if request.geneve != own.geneve { return "the running gwlbd takes GENEVE on \(own.geneve), the new one on \(request.geneve)" }
        if request.offloads != own.offloads { return "offloads are \(own.offloads ? "on" : "off") in the running gwlbd and \(request.offloads ? "on" : "off") in the new one" }
        if request.sharedState != own.sharedState {
            return "the running gwlbd keeps its flows in \(own.sharedState ?? "none"), the new one in \(request.sharedState ?? "none")"
        }
        if own.sharedState == nil { return "the running gwlbd keeps its flows in its own memory (--shared-state none): they cannot be handed over" }
        return nil
    }
}

/// The running gwlbd's side: waits for a successor on a thread of its own, one at a time.
final class TakeoverServer: @unchecked Sendable {
    // @unchecked: the listener never changes; `steps` are Sendable closures.

    struct Steps: Sendable {
        /// This gwlbd described as a successor would be (to compare).
        var own: Takeover.Request
        /// Freezes the control plane, stops the workers and lets go of the flow state; returns the
        /// offer and its descriptors (still this process's: sending duplicates them).
        var freeze: @Sendable () -> (Takeover.Offer, [Int32])
        /// Takes everything back after a takeover that did not complete, with why.
        var thaw: @Sendable (String) -> Void
        /// The successor runs: this gwlbd ends.
        var handedOver: @Sendable (Takeover.Request) -> Void
        var log: @Sendable (String) -> Void
    }

    private let listener: Int32
    private let steps: Steps
    /// How long the successor may take from the offer to `Started` (a million-flow table takes a
    /// second to be taken over; the store, the compile and the API a few more at most).
    static let startSeconds: Int32 = 60

    init(path: String, steps: Steps) throws {
        listener = try TakeoverChannel.listen(path: path)
        self.steps = steps
        let thread = Thread { [self] in serve() }
        thread.name = "gwlb-takeover"
        thread.start()
    }

    private func serve() {
        while true {
            let connection = gwlb_accept(listener)
            guard connection >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                steps.log("takeover socket: accept failed (\(String(cString: strerror(errno)))); no takeover possible")
                return
            }
            handle(TakeoverChannel(descriptor: connection))
        }
    }

    private func handle(_ channel: TakeoverChannel) {
        guard let (request, _) = try? channel.receive(Takeover.Request.self, seconds: 10) else { return }
        if let reason = Takeover.refusal(of: request, own: steps.own) {
            steps.log("takeover by gwlbd \(request.version) (pid \(request.pid)) refused: \(reason)")
            try? channel.send(Takeover.Offer(refusal: reason))
            return
        }
        steps.log("handing over to gwlbd \(request.version) (pid \(request.pid))")
        let (offer, descriptors) = steps.freeze()
        do {
            try channel.send(offer, descriptors: descriptors)
            _ = try channel.receive(Takeover.Started.self, seconds: Self.startSeconds)
        } catch {
            steps.thaw("\(error)")
            return
        }
        steps.handedOver(request)
    }
}

/// The new gwlbd's side: what it was handed.
///
/// `@unchecked Sendable`: used by one thread at a time, gwlbd's start and then its announcing
/// service (which says `started`).
final class TakeoverClient: @unchecked Sendable {
    let channel: TakeoverChannel
    let offer: Takeover.Offer
    /// One per worker, in worker order (the SO_REUSEPORT group's order).
    let sockets: [Int32]
    /// Per endpoint of the offer, one queue per worker.
    let queues: [[Int32]]

    /// Connects, asks, and returns once the running gwlbd has stopped its workers and handed over.
    init(path: String, request: Takeover.Request) throws {
        channel = try TakeoverChannel.connect(path: path)
        try channel.send(request)
        let (offer, descriptors) = try channel.receive(Takeover.Offer.self, descriptorCount: { $0.refusal == nil ? $0.descriptorCount : 0 },
                                                       seconds: 30)
        if let refusal = offer.refusal { throw TakeoverChannel.Failure("the running gwlbd refused the takeover: \(refusal)") }
        guard offer.workers == request.workers, descriptors.count == offer.descriptorCount else {
            descriptors.forEach { _ = close($0) }
            throw TakeoverChannel.Failure("the running gwlbd handed over \(descriptors.count) descriptors, \(offer.descriptorCount) expected")
        }
        self.offer = offer
        sockets = Array(descriptors[..<offer.workers])
        queues = offer.endpoints.indices.map { index in
            let start = offer.workers * (1 + index)
            return Array(descriptors[start..<start + offer.workers])
        }
    }

    /// Tells the old gwlbd this one runs: it exits.
    func started() throws { try channel.send(Takeover.Started(pid: getpid())) }
}
