import ControlContract
import DataPlane
import Foundation
import PacketIO
import Wire

/// The data plane's counters and recent drops as the contract's report, for the stats file,
/// GET /v1/stats and /v1/drops.
public enum StatisticsReport {
    public static func report(_ statistics: DataPlaneStatistics, drops: [DropRecord], targets: [UDPPeer?]) -> StatsReport {
        let targetRows = targets.enumerated().compactMap { slot, peer -> StatsReport.Target? in
            guard let peer, slot < statistics.targets.count else { return nil }
            let counters = statistics.targets[slot]
            return StatsReport.Target(address: peer.address.description, slot: slot, packetsToTarget: counters.packetsToTarget,
                                      bytesToTarget: counters.bytesToTarget, packetsFromTarget: counters.packetsFromTarget,
                                      bytesFromTarget: counters.bytesFromTarget, activeFlows: counters.activeFlows, newFlows: counters.newFlows)
        }
        var dropCounts: [String: UInt64] = [:]
        for reason in DropReason.allCases { dropCounts[reason.name] = statistics.drops(reason) }
        let offloads = StatsReport.Offloads(coalescedSegments: statistics.coalescedSegments, coalescedWrites: statistics.coalescedWrites,
                                            coalescedDatagramsReceived: statistics.coalescedDatagramsReceived,
                                            superPacketsRead: statistics.superPacketsRead, superPacketSegments: statistics.superPacketSegments,
                                            malformedSuperPackets: statistics.malformedSuperPackets)
        return StatsReport(time: ISO8601DateFormatter().string(from: Date()),
                           flows: .init(active: statistics.activeFlows, new: statistics.newFlows, expired: statistics.expiredFlows,
                                        rejected: statistics.rejectedFlows),
                           endpointPackets: statistics.endpointPackets, endpointBytes: statistics.endpointBytes,
                           genevePackets: statistics.genevePackets, geneveBytes: statistics.geneveBytes, handedOff: statistics.handedOff,
                           endpointsLost: statistics.endpointsLost, resetsSent: statistics.resetsSent, packetTooBigSent: statistics.packetTooBigSent,
                           offloads: offloads,
                           snapshot: .init(version: statistics.snapshotVersion, pickupMicroseconds: Double(statistics.snapshotPickupNanoseconds) / 1000),
                           targets: targetRows, drops: dropCounts, recentDrops: drops.map(row))
    }

    public static func row(_ drop: DropRecord) -> DropRow {
        DropRow(time: ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(drop.time) / 1e9)), reason: drop.reason.name,
                detail: drop.detail?.name, size: drop.size, source: drop.source.unmappedDescription,
                destination: drop.destination.unmappedDescription, sourcePort: Int(drop.sourcePort), destinationPort: Int(drop.destinationPort),
                protocol: drop.protocol.description, endpoint: drop.endpoint.map(Int.init), appliance: drop.appliance?.description)
    }

    /// Writes `report` to `path` atomically (readers never see half a file).
    public static func write(_ report: StatsReport, to path: String) throws {
        try ContractCoding.encode(report, pretty: true).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
