import DataPlane
import Foundation
import Testing
@testable import Telemetry

@Suite struct MetricsExporterTests {
    func sample(_ statistics: DataPlaneStatistics, targets: [TargetSample], time: Double) -> MetricsSample {
        MetricsSample(statistics: statistics, loadBalancer: "gwy/lb/0123", targetGroup: "targetgroup/tg/4567", zone: "local",
                      targets: targets, time: time)
    }

    /// The value of the series whose line starts with `prefix` (name and labels).
    func value(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last!) }
    }

    /// A node of a cluster labels every series with its name; a single node adds no label.
    @Test func aClusterNodesSeriesCarryItsName() {
        var statistics = DataPlaneStatistics(targetSlots: 1)
        statistics.activeFlows = 4
        statistics.targets[0].packetsToTarget = 10
        let targets = [TargetSample(slot: 0, address: "198.18.1.11", state: "healthy")]
        let clustered = MetricsExporter()
        var sample = sample(statistics, targets: targets, time: 0)
        sample.node = "n2"
        sample.processStart = (1000, 0)
        clustered.flush(sample)
        let text = clustered.exposition()
        let lb = #"load_balancer="gwy/lb/0123",target_group="targetgroup/tg/4567",availability_zone="local",node="n2""#
        #expect(value(text, "gwlb_active_flows{\(lb)}") == 4)
        #expect(value(text, "gwlb_healthy_hosts{\(lb)}") == 1)
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("gwlb_") && $0.contains("{") && !$0.contains(#"node="n2""#) }.isEmpty,
                "every labelled series names the node:\n\(text)")
        let single = MetricsExporter()
        single.flush(self.sample(statistics, targets: targets, time: 0))
        #expect(!single.exposition().contains("node="))
    }

    @Test func countersFollowTheDataPlanesTotalsAndGaugesItsState() {
        let exporter = MetricsExporter()
        var statistics = DataPlaneStatistics(targetSlots: 2)
        statistics.newFlows = 5
        statistics.activeFlows = 3
        statistics.endpointPackets = 100
        statistics.endpointBytes = 8_400
        statistics.rejectedFlows = 2
        statistics.rejectedTCPFlows = 1
        statistics.drops[Int(DropReason.oversize.rawValue)] = 7
        statistics.targets[1].packetsToTarget = 60
        statistics.targets[1].bytesFromTarget = 4_000
        statistics.targets[1].activeFlows = 3
        let targets = [TargetSample(slot: 1, address: "198.18.1.11", state: "healthy"), TargetSample(slot: 0, address: "198.18.1.12", state: "unhealthy", reason: "Target.DataPathFailed")]
        exporter.flush(sample(statistics, targets: targets, time: 0))
        statistics.newFlows = 9
        statistics.targets[1].packetsToTarget = 75
        var second = sample(statistics, targets: targets, time: 1)
        second.targetSlots = (capacity: 1024, current: 2, retired: 3)
        exporter.flush(second)
        let text = exporter.exposition()
        let lb = #"load_balancer="gwy/lb/0123",target_group="targetgroup/tg/4567",availability_zone="local""#
        #expect(value(text, "gwlb_new_flow_count_total{\(lb)}") == 9)
        #expect(value(text, "gwlb_active_flows{\(lb)}") == 3)
        #expect(value(text, "gwlb_processed_bytes_total{\(lb)}") == 8_400)
        #expect(value(text, "gwlb_rejected_flow_count_tcp_total{\(lb)}") == 1)
        #expect(value(text, "gwlb_healthy_hosts{\(lb)}") == 1)
        #expect(value(text, "gwlb_unhealthy_hosts{\(lb)}") == 1)
        #expect(value(text, "gwlb_unhealthy_hosts_by_reason{\(lb),reason=\"Target.DataPathFailed\"}") == 1)
        #expect(value(text, "gwlb_unhealthy_hosts_by_reason{\(lb),reason=\"Target.Timeout\"}") == 0)
        #expect(value(text, "gwlb_dropped_packets_total{\(lb),reason=\"oversize\"}") == 7)
        #expect(value(text, "gwlb_target_packets_total{\(lb),target=\"198.18.1.11\",direction=\"to_target\"}") == 75)
        #expect(value(text, "gwlb_target_bytes_total{\(lb),target=\"198.18.1.11\",direction=\"from_target\"}") == 4_000)
        #expect(value(text, "gwlb_target_active_flows{\(lb),target=\"198.18.1.11\"}") == 3)
        #expect(value(text, "gwlb_target_slots{\(lb),state=\"current\"}") == 2)
        #expect(value(text, "gwlb_target_slots{\(lb),state=\"retired\"}") == 3)
        #expect(value(text, "gwlb_target_slots{\(lb),state=\"free\"}") == 1019)
        #expect(text.contains("# HELP gwlb_active_flows Flows gwlbd tracks now (CloudWatch ActiveFlowCount)."))
        #expect(text.contains("# TYPE gwlb_new_flow_count_total counter"))
    }

    @Test func aTargetThatLeftTakesItsSeriesWithIt() {
        let exporter = MetricsExporter()
        var statistics = DataPlaneStatistics(targetSlots: 2)
        statistics.targets[0].packetsToTarget = 10
        exporter.flush(sample(statistics, targets: [TargetSample(slot: 0, address: "198.18.1.11", state: "healthy")], time: 0))
        #expect(exporter.exposition().contains("198.18.1.11"))
        // The slot goes to another target later: its series start from the slot's total then.
        statistics.targets[0].packetsToTarget = 25
        exporter.flush(sample(statistics, targets: [TargetSample(slot: 0, address: "198.18.1.13", state: "initial")], time: 1))
        let text = exporter.exposition()
        #expect(!text.contains("198.18.1.11"))
        #expect(text.contains("198.18.1.13"))
    }

    @Test func peaksAreTheHighestTenSecondAverageOfTheLastMinute() {
        var peak = PeakRate()
        var total: UInt64 = 0
        var last = 0.0
        // 10 s at 100/s, 10 s at 500/s, then idle; sampled at the start of each second.
        for second in 0...81 {
            last = peak.sample(total: total, at: Double(second))
            if second == 10 { #expect(last == 100) }
            if second == 21 { #expect(last == 500) }
            total += second < 10 ? 100 : second < 20 ? 500 : 0
        }
        #expect(last == 0, "a minute later the burst is out of the window")
        // A total that goes back (gwlbd restarted) starts a new window instead of a negative rate.
        #expect(peak.sample(total: 5, at: 82) == 0)
    }

    /// Counters start from zero in a new gwlbd: the start time says when (Prometheus's own name),
    /// and how many flows it took over from the one before.
    @Test func theProcessStartIsExported() {
        let exporter = MetricsExporter()
        var start = sample(DataPlaneStatistics(targetSlots: 1), targets: [], time: 0)
        start.processStart = (1_796_205_600, 202)
        exporter.flush(start)
        let text = exporter.exposition()
        #expect(value(text, "process_start_time_seconds") == 1_796_205_600)
        #expect(value(text, #"gwlb_flows_taken_over{availability_zone="local"}"#) == 202)
    }

    /// Several load balancers: host counts and target series carry each one's dimensions; the
    /// series of gwlbd as a whole say "all"; a load balancer that leaves takes its series along.
    @Test func severalLoadBalancersEachHaveTheirSeries() {
        let exporter = MetricsExporter()
        var statistics = DataPlaneStatistics(targetSlots: 3)
        statistics.activeFlows = 4
        statistics.targets[0].packetsToTarget = 10
        statistics.targets[2].packetsToTarget = 30
        let east = BalancerSample(loadBalancer: "gwy/east/1", targetGroup: "targetgroup/e/2",
                                  targets: [TargetSample(slot: 0, address: "198.18.1.11", state: "healthy")])
        let west = BalancerSample(loadBalancer: "gwy/west/3", targetGroup: "targetgroup/w/4",
                                  targets: [TargetSample(slot: 2, address: "198.18.1.11", state: "unhealthy", reason: "Target.Timeout")])
        exporter.flush(MetricsSample(statistics: statistics, balancers: [east, west], zone: "local", time: 0))
        var text = exporter.exposition()
        let eastLabels = #"load_balancer="gwy/east/1",target_group="targetgroup/e/2",availability_zone="local""#
        let westLabels = #"load_balancer="gwy/west/3",target_group="targetgroup/w/4",availability_zone="local""#
        #expect(value(text, "gwlb_healthy_hosts{\(eastLabels)}") == 1 && value(text, "gwlb_healthy_hosts{\(westLabels)}") == 0)
        #expect(value(text, "gwlb_unhealthy_hosts{\(westLabels)}") == 1)
        #expect(value(text, #"gwlb_target_packets_total{\#(eastLabels),target="198.18.1.11",direction="to_target"}"#) == 10)
        #expect(value(text, #"gwlb_target_packets_total{\#(westLabels),target="198.18.1.11",direction="to_target"}"#) == 30,
                "the same appliance in two load balancers: two series")
        #expect(value(text, #"gwlb_active_flows{load_balancer="all",target_group="all",availability_zone="local"}"#) == 4)
        exporter.flush(MetricsSample(statistics: statistics, balancers: [east], zone: "local", time: 1))
        text = exporter.exposition()
        #expect(value(text, "gwlb_healthy_hosts{\(westLabels)}") == nil && !text.contains("gwy/west/3"), "west's series left with it")
        #expect(value(text, "gwlb_active_flows{\(eastLabels)}") == 4, "one load balancer: its own labels again")
        #expect(!text.contains(#"load_balancer="all""#), "no stale series under the labels of two")
    }
}
