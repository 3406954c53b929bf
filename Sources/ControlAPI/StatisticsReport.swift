import ControlContract
import DataPlane
import Foundation
import PacketIO
import Wire

/// The data plane's counters and recent drops as JSON, for the stats file, GET /v1/stats and /v1/drops.
public enum StatisticsReport {
    public static func json(_ statistics: DataPlaneStatistics, drops: [DropRecord], targets: [UDPPeer?]) -> [String: Any] {
        var targetRows: [[String: Any]] = []
        for (slot, peer) in targets.enumerated() {
            guard let peer, slot < statistics.targets.count else { continue }
            let counters = statistics.targets[slot]
            targetRows.append([
                "address": peer.address.description, "slot": slot,
                "packetsToTarget": counters.packetsToTarget, "bytesToTarget": counters.bytesToTarget,
                "packetsFromTarget": counters.packetsFromTarget, "bytesFromTarget": counters.bytesFromTarget,
                "activeFlows": counters.activeFlows, "newFlows": counters.newFlows,
            ])
        }
        var dropCounts: [String: UInt64] = [:]
        for reason in DropReason.allCases { dropCounts[reason.name] = statistics.drops(reason) }
        return [
            "time": ISO8601DateFormatter().string(from: Date()),
            "flows": ["active": statistics.activeFlows, "new": statistics.newFlows, "expired": statistics.expiredFlows,
                      "rejected": statistics.rejectedFlows],
            "endpointPackets": statistics.endpointPackets, "endpointBytes": statistics.endpointBytes,
            "genevePackets": statistics.genevePackets, "geneveBytes": statistics.geneveBytes,
            "handedOff": statistics.handedOff, "endpointsLost": statistics.endpointsLost, "resetsSent": statistics.resetsSent, "packetTooBigSent": statistics.packetTooBigSent,
            "offloads": ["coalescedSegments": statistics.coalescedSegments, "coalescedWrites": statistics.coalescedWrites,
                         "coalescedDatagramsReceived": statistics.coalescedDatagramsReceived,
                         "superPacketsRead": statistics.superPacketsRead, "superPacketSegments": statistics.superPacketSegments,
                         "malformedSuperPackets": statistics.malformedSuperPackets],
            "snapshot": ["version": statistics.snapshotVersion, "pickupMicroseconds": Double(statistics.snapshotPickupNanoseconds) / 1000],
            "targets": targetRows,
            "drops": dropCounts,
            "recentDrops": drops.map { ContractCoding.object(row($0)) },
        ]
    }

    public static func row(_ drop: DropRecord) -> DropRow {
        DropRow(time: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(drop.time) / 1e9)), reason: drop.reason.name,
                detail: drop.detail?.name, size: drop.size, source: drop.source.unmappedDescription,
                destination: drop.destination.unmappedDescription, sourcePort: Int(drop.sourcePort), destinationPort: Int(drop.destinationPort),
                protocol: drop.protocol.description, endpoint: drop.endpoint.map(Int.init), appliance: drop.appliance?.description)
    }

    /// Writes `report` to `path` atomically (readers never see half a file).
    public static func write(_ report: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
