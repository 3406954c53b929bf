/// gwlb's metrics: CloudWatch's `AWS/GatewayELB` set (README "Telemetry") under Prometheus names, plus what
/// AWS does not give (per-target traffic, drops by reason). Prometheus's rules shape the names: a
/// counter ends in `_total`, and a gauge must not end in `_count` (reserved for histograms;
/// `promtool check metrics` refuses it), so CloudWatch's ActiveFlowCount is `gwlb_active_flows`.
public enum MetricNames {
    public static let activeFlows = "gwlb_active_flows"
    public static let newFlows = "gwlb_new_flow_count_total"
    public static let processedBytes = "gwlb_processed_bytes_total"
    public static let processedPackets = "gwlb_processed_packets_total"
    public static let healthyHosts = "gwlb_healthy_hosts"
    public static let unhealthyHosts = "gwlb_unhealthy_hosts"
    public static let unhealthyHostsByReason = "gwlb_unhealthy_hosts_by_reason"
    public static let rejectedFlows = "gwlb_rejected_flow_count_total"
    public static let rejectedTCPFlows = "gwlb_rejected_flow_count_tcp_total"
    public static let peakBytesPerSecond = "gwlb_peak_bytes_per_second"
    public static let peakPacketsPerSecond = "gwlb_peak_packets_per_second"
    public static let resetsSent = "gwlb_tcp_elb_reset_count_total"
    public static let targetPackets = "gwlb_target_packets_total"
    public static let targetBytes = "gwlb_target_bytes_total"
    public static let targetActiveFlows = "gwlb_target_active_flows"
    public static let targetNewFlows = "gwlb_target_new_flows_total"
    public static let drops = "gwlb_dropped_packets_total"
    public static let targetSlots = "gwlb_target_slots"
    public static let failedEndpoints = "gwlb_failed_endpoints"
    public static let routingDrift = "gwlb_route_table_drift"
    public static let endpointsLost = "gwlb_endpoint_devices_lost_total"
    public static let flowLogRecordsLost = "gwlb_flow_log_records_lost_total"
    /// Prometheus's own name (client libraries export it): a restart resets every counter, and
    /// this says when, for `rate()` and `increase()` and for dashboards.
    public static let processStartTime = "process_start_time_seconds"
    public static let flowsTakenOver = "gwlb_flows_taken_over"
    public static let returnsOfOtherNodes = "gwlb_cluster_returns_of_other_nodes_total"

    /// Each metric's HELP line, naming the CloudWatch metric it carries.
    public static let help: [String: String] = [
        activeFlows: "Flows gwlbd tracks now (CloudWatch ActiveFlowCount).",
        newFlows: "Flows established (CloudWatch NewFlowCount).",
        processedBytes: "Bytes of the packets taken in from endpoints (CloudWatch ProcessedBytes).",
        processedPackets: "Packets taken in from endpoints (CloudWatch ProcessedPackets).",
        healthyHosts: "Targets considered healthy (CloudWatch HealthyHostCount).",
        unhealthyHosts: "Targets considered unhealthy (CloudWatch UnHealthyHostCount).",
        unhealthyHostsByReason: "Unhealthy targets by AWS's reason code (Target.DataPathFailed: gwlb's data-path probes did not come back).",
        rejectedFlows: "New flows refused because the flow table was full (CloudWatch RejectedFlowCount).",
        rejectedTCPFlows: "New TCP flows refused because the flow table was full (CloudWatch RejectedFlowCount_TCP).",
        peakBytesPerSecond: "Highest 10-second average of bytes per second in the last minute (CloudWatch PeakBytesPerSecond).",
        peakPacketsPerSecond: "Highest 10-second average of packets per second in the last minute (CloudWatch PeakPacketsPerSecond).",
        resetsSent: "TCP RSTs gwlbd sent (CloudWatch TCP_ELB_Reset_Count).",
        targetPackets: "Packets sent to (to_target) or accepted back from (from_target) a target.",
        targetBytes: "Bytes of inner packets sent to (to_target) or accepted back from (from_target) a target.",
        targetActiveFlows: "Flows pinned to a target now.",
        targetNewFlows: "Flows pinned to a target since gwlbd started.",
        drops: "Packets dropped, by reason.",
        failedEndpoints: "Endpoints that forward nothing: their TUN device was deleted and is not back yet.",
        routingDrift: "Rules and routes of the EC2 route tables that Linux does not hold as gwlbd made them (gwlb ec2 repair-route-tables).",
        endpointsLost: "Times a worker found an endpoint's TUN device deleted under gwlbd (and stopped polling it).",
        flowLogRecordsLost: "Flow-log records that could not be written (a full disk, an I/O error).",
        processStartTime: "When gwlbd started, in seconds since the Unix epoch (its counters start from zero then).",
        flowsTakenOver: "Flows this gwlbd took over at start from the shared flow state an earlier gwlbd left (0 when it started cold).",
        returnsOfOtherNodes: "A node of a cluster: returns accepted by their cluster cookie for flows another node sent.",
        targetSlots: "The data plane's target slots: held by a current target, retired (their target left, flows may still use them), free.",
    ]
}
