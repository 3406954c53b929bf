import ControlContract
import DataPlane
import Foundation
import Hummingbird
import ServiceLifecycle
import Wire

/// GET /v1/capture: captured packets as NDJSON until the count or the duration is reached or the
/// client goes. `drops=1` takes every dropped packet; `address=A` and/or `port=P` the packets of
/// matching flows both ways. One capture at a time (409 otherwise). A heartbeat line each second
/// keeps a quiet capture's connection alive; the last line says how many were taken and lost.
enum CaptureStream {
    struct Request {
        var filter: CaptureFilter
        var count: Int
        var seconds: Double
    }

    static func parse(_ parameters: [String: String]) throws -> Request {
        var filter = CaptureFilter(drops: parameters["drops"] == "1" || parameters["drops"] == "true")
        (filter.address, filter.port) = try Observatory.addressAndPort(parameters)
        guard filter.drops != (filter.address != nil || filter.port != nil) else {
            throw ObservabilityError(description: "capture either drops (drops=1) or a flow (address=A and/or port=P)")
        }
        let count = Int(parameters["count"] ?? "100") ?? -1
        let seconds = Double(parameters["duration"] ?? "60") ?? -1
        guard (1...1_000_000).contains(count) else { throw ObservabilityError(description: "count must be 1-1000000") }
        guard seconds > 0 && seconds <= 86_400 else { throw ObservabilityError(description: "duration must be 1-86400 seconds") }
        return Request(filter: filter, count: count, seconds: seconds)
    }

    static func response(_ parameters: [String: String], observatory: Observatory) -> Response {
        let request: Request
        do { request = try parse(parameters) } catch {
            return failure(.badRequest, "\(error)")
        }
        guard let session = observatory.startCapture(request.filter) else {
            return failure(.conflict, "another capture is running on this gwlbd; try again when it ends")
        }
        // A client that stopped reading blocks the writes below; the capture ends at its deadline
        // all the same (and what the stalled stream asks for afterwards is nothing).
        // A Dispatch timer, not a task: it must fire even when the API's tasks are all busy. Stopping
        // a session that already ended (or any other) does nothing, so it is never cancelled.
        DispatchQueue.global().asyncAfter(deadline: .now() + request.seconds + 2) { observatory.stopCapture(session) }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
            defer { observatory.stopCapture(session) }
            let lostBefore = observatory.takeCaptured(session).lost
            try await writer.write(APIServer.line(CaptureLine.start(drops: request.filter.drops, geneveAddress: observatory.geneveAddress)))
            let deadline = Date().addingTimeInterval(request.seconds)
            var captured = 0, lost: UInt64 = 0, lastLine = Date()
            while captured < request.count && Date() < deadline && !Task.isCancelled && !Task.isShuttingDownGracefully {
                try await Task.sleep(for: .milliseconds(20))
                let (packets, lostNow) = observatory.takeCaptured(session)
                lost = lostNow - lostBefore
                for packet in packets.prefix(request.count - captured) {
                    try await writer.write(APIServer.line(CaptureLine.packet(line(packet))))
                    captured += 1
                    lastLine = Date()
                }
                if Date().timeIntervalSince(lastLine) >= 1 {
                    try await writer.write(APIServer.line(CaptureLine.heartbeat))
                    lastLine = Date()
                }
            }
            try await writer.write(APIServer.line(CaptureLine.end(captured: captured, lost: Int(lost))))
            try await writer.finish(nil)
        })
    }

    static func line(_ packet: CapturedPacket) -> CapturedPacketLine {
        var line = CapturedPacketLine(time: packet.time, length: packet.originalLength, geneve: packet.isGeneveDatagram, bytes: packet.bytes,
                                      event: .drop, endpoint: packet.endpoint, appliance: packet.appliance?.description)
        switch packet.event {
        case .dropped(let reason, let detail):
            line.reason = reason.name
            line.detail = detail?.name
        case .toTarget(let target):
            line.event = .toTarget
            line.target = target.description
        case .fromTarget(let target):
            line.event = .fromTarget
            line.target = target.description
        }
        return line
    }

    static func failure(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: APIServer.encode(ErrorAnswer(message)))))
    }
}
