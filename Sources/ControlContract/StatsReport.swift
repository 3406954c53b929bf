/// GET /v1/stats, and gwlbd's `--stats-file` (without the API form's fields): the data plane's
/// counters since gwlbd started, per target, drops by reason and the most recent drops.
public struct StatsReport: Codable, Sendable, Equatable {
    /// When the report was made, ISO 8601.
    public var time: String
    public var flows: Flows
    public var endpointPackets: UInt64
    public var endpointBytes: UInt64
    public var genevePackets: UInt64
    public var geneveBytes: UInt64
    /// Packets one worker passed to another (a flow's first packets, before steering learns it).
    public var handedOff: UInt64
    public var endpointsLost: UInt64
    public var resetsSent: UInt64
    /// ICMP "fragmentation needed" / "packet too big" answers to oversize packets.
    public var packetTooBigSent: UInt64
    public var offloads: Offloads
    public var snapshot: Snapshot
    public var targets: [Target]
    /// Every reason, zero or not.
    public var drops: [String: UInt64]
    /// Oldest first.
    public var recentDrops: [DropRow]

    // The API form adds these (absent from the statistics file).
    public var flowCapacity: Int?
    /// Changes when the machine restarts: a console tells a restarted gwlbd from a reset counter.
    public var bootId: String?
    public var uptimeSeconds: Int?
    public var failedEndpoints: [String]?
    /// Route-table drift, a sentence each (README "Route tables → Linux").
    public var routingDrift: [String]?
    public var flowLogRecordsLost: UInt64?
    public var targetSlots: TargetSlots?

    public struct Flows: Codable, Sendable, Equatable {
        public var active: Int64
        public var new: UInt64
        public var expired: UInt64
        public var rejected: UInt64
        public init(active: Int64, new: UInt64, expired: UInt64, rejected: UInt64) {
            self.active = active
            self.new = new
            self.expired = expired
            self.rejected = rejected
        }
    }

    /// What the TUN and UDP offloads did (README "Performance").
    public struct Offloads: Codable, Sendable, Equatable {
        public var coalescedSegments: UInt64
        public var coalescedWrites: UInt64
        public var coalescedDatagramsReceived: UInt64
        public var superPacketsRead: UInt64
        public var superPacketSegments: UInt64
        public var malformedSuperPackets: UInt64
        public init(coalescedSegments: UInt64, coalescedWrites: UInt64, coalescedDatagramsReceived: UInt64, superPacketsRead: UInt64,
                    superPacketSegments: UInt64, malformedSuperPackets: UInt64) {
            self.coalescedSegments = coalescedSegments
            self.coalescedWrites = coalescedWrites
            self.coalescedDatagramsReceived = coalescedDatagramsReceived
            self.superPacketsRead = superPacketsRead
            self.superPacketSegments = superPacketSegments
            self.malformedSuperPackets = malformedSuperPackets
        }
    }

    /// The forwarding snapshot the workers run with, and how long they took to pick it up.
    public struct Snapshot: Codable, Sendable, Equatable {
        public var version: UInt64
        public var pickupMicroseconds: Double
        public init(version: UInt64, pickupMicroseconds: Double) {
            self.version = version
            self.pickupMicroseconds = pickupMicroseconds
        }
    }

    /// One target slot's traffic.
    public struct Target: Codable, Sendable, Equatable {
        public var address: String
        public var slot: Int
        public var packetsToTarget: UInt64
        public var bytesToTarget: UInt64
        public var packetsFromTarget: UInt64
        public var bytesFromTarget: UInt64
        public var activeFlows: Int64
        public var newFlows: UInt64
        public init(address: String, slot: Int, packetsToTarget: UInt64, bytesToTarget: UInt64, packetsFromTarget: UInt64, bytesFromTarget: UInt64,
                    activeFlows: Int64, newFlows: UInt64) {
            self.address = address
            self.slot = slot
            self.packetsToTarget = packetsToTarget
            self.bytesToTarget = bytesToTarget
            self.packetsFromTarget = packetsFromTarget
            self.bytesFromTarget = bytesFromTarget
            self.activeFlows = activeFlows
            self.newFlows = newFlows
        }
    }

    /// Target slots: in use, retired (a target that left, its flows still alive) and free.
    public struct TargetSlots: Codable, Sendable, Equatable {
        public var capacity: Int
        public var current: Int
        public var retired: Int
        public var free: Int
        public init(capacity: Int, current: Int, retired: Int, free: Int) {
            self.capacity = capacity
            self.current = current
            self.retired = retired
            self.free = free
        }
    }

    public init(time: String, flows: Flows, endpointPackets: UInt64, endpointBytes: UInt64, genevePackets: UInt64, geneveBytes: UInt64,
                handedOff: UInt64, endpointsLost: UInt64, resetsSent: UInt64, packetTooBigSent: UInt64, offloads: Offloads, snapshot: Snapshot,
                targets: [Target], drops: [String: UInt64], recentDrops: [DropRow]) {
        self.time = time
        self.flows = flows
        self.endpointPackets = endpointPackets
        self.endpointBytes = endpointBytes
        self.genevePackets = genevePackets
        self.geneveBytes = geneveBytes
        self.handedOff = handedOff
        self.endpointsLost = endpointsLost
        self.resetsSent = resetsSent
        self.packetTooBigSent = packetTooBigSent
        self.offloads = offloads
        self.snapshot = snapshot
        self.targets = targets
        self.drops = drops
        self.recentDrops = recentDrops
    }
}
