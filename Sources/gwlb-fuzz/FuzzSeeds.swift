import ControlInput
import Foundation
import TestSupport
import Wire

/// A starting corpus per target, from the tests' vectors and builders: the fuzzer mutates valid
/// inputs far deeper than it would reach from nothing.
extension FuzzTarget {
    var seeds: [[UInt8]] {
        let v4 = PacketBuilder("198.18.10.2", "198.18.20.2"), v6 = PacketBuilder("fd00:10::2", "fd00:20::2")
        var fragment = v4
        fragment.fragment = (offset: 0, more: true)
        var optioned = v4
        optioned.ipv4Options = [1, 1, 1, 1]
        let packets = [v4.tcp(40000, 80, flags: .syn), v4.tcp(40000, 80, flags: [.ack, .psh], payload: Array(repeating: 7, count: 100)),
                       v6.tcp(40000, 80, flags: .syn), v4.udp(5000, 53, payload: [1, 2, 3]), v6.udp(5000, 53, payload: [1, 2, 3]),
                       v4.icmpEcho(identifier: 1), v6.icmpEcho(identifier: 1), fragment.udp(5000, 53, payload: Array(repeating: 1, count: 64)),
                       optioned.tcp(1, 2, flags: .ack)]
        switch self {
        case .geneve, .geneveDifferential:
            let v6Return = GeneveHeader.aws(protocolType: Geneve.protocolTypeIPv6, endpointID: 1, attachmentID: 2, cookie: 3)
            return [Array(GoldenFrames.toAppliance[GoldenFrames.genevePayloadOffset...]),
                    Array(GoldenFrames.fromAppliance[GoldenFrames.genevePayloadOffset...]),
                    Self.encoded(v6Return) + v6.udp(1, 2)]
        case .packetSummary, .tcpReset, .packetTooBig:
            return packets
        case .superPacket:
            let payload = Array(repeating: UInt8(9), count: 4000)
            let tcp4 = v4.tcp(40000, 80, flags: [.ack, .psh], payload: payload), tcp6 = v6.tcp(40000, 80, flags: .ack, payload: payload)
            let udp4 = v4.udp(5000, 53, payload: payload)
            return [Self.virtio(VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoTCPv4, headerLength: 40, gsoSize: 1400,
                                                checksumStart: 20, checksumOffset: 16)) + tcp4,
                    Self.virtio(VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoTCPv6, headerLength: 60, gsoSize: 1400,
                                                checksumStart: 40, checksumOffset: 16)) + tcp6,
                    Self.virtio(VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoUDPL4, headerLength: 28, gsoSize: 1400,
                                                checksumStart: 20, checksumOffset: 6)) + udp4,
                    Self.virtio(VirtioNetHeader()) + packets[0]]
        case .coalescer:
            // Consecutive segments of one flow, and another flow's between them.
            let segments = (0..<4).map { v4.tcp(40000, 80, flags: .ack, sequence: 1000 + UInt32($0) * 100, payload: Array(repeating: 5, count: 100)) }
            let order: [[UInt8]] = [segments[0], segments[1], v6.tcp(1, 2, flags: .ack, payload: [1]), segments[2], segments[3]]
            var stream: [UInt8] = []
            for packet in order { stream += [0, UInt8(packet.count >> 8), UInt8(packet.count & 0xFF)] + packet }
            return [stream]
        case .xml:
            return [Array("""
            <DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetGroupsResult>\
            <TargetGroups><member><TargetGroupName>my-targets</TargetGroupName><Port>6081</Port><HealthCheckEnabled>true</HealthCheckEnabled>\
            </member></TargetGroups></DescribeTargetGroupsResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>\
            </DescribeTargetGroupsResponse>
            """.utf8), Array("""
            <DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><routeTableSet><item>\
            <associationSet><item><main>false</main><gatewayId>igw-1</gatewayId><associationState><state>failed</state></associationState></item>\
            </associationSet><routeSet><item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><state>active</state></item></routeSet>\
            <tagSet/></item></routeTableSet></DescribeRouteTablesResponse>
            """.utf8)]
        case .query:
            return [Array("Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A1%3Atargetgroup%2Fa%2Fb"
                          .utf8) + Array("&Targets.member.1.Id=198.18.1.11&Targets.member.1.Port=6081&Names.member.1=a+b&Names.member.2=c".utf8),
                    Array("Action=DescribeRouteTables&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&RouteTableId.1=rtb-1".utf8)
                    + Array("&TagSpecification.1.ResourceType=route-table&TagSpecification.1.Tag.1.Key=a&TagSpecification.1.Tag.1.Value=b".utf8)]
        case .sigv4:
            return [Self.signedRequest]
        case .credentials:
            return [Array("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n# comment\n[other]\naws_access_key_id=B\naws_secret_access_key=C\n".utf8)]
        case .configuration:
            return [Array("""
            {"geneveAddress": "198.18.1.1", "endpoints": [{"interface": "gwlbe0", "endpointId": "vpce-0123456789abcdef0", "attachmentId": "0x1122"}],
             "targets": ["198.18.1.11", "198.18.1.12"], "workers": 2, "flowsPerWorker": 65536, "stickiness": "five_tuple",
             "tcpIdleTimeoutSeconds": 350, "endpointMTU": 9001, "offloads": true, "pathMTUDiscovery": true, "innerFlowCheck": true,
             "instances": {"i-1": "198.18.1.13"}}
            """.utf8), Array(#"{"geneveAddress": "198.18.1.1", "genevePort": 6081, "stickiness": "source_ip_dest_ip"}"#.utf8)]
        case .stream:
            let events = [#"{"type":"hello","seq":1,"bootId":"a","version":"0.4.0","role":"operator","startTime":"2026-12-02T10:00:00.000Z"}"#,
                          #"{"type":"snapshot","seq":2,"loadBalancer":{"name":"lb"},"flows":{"active":10,"capacity":100},"targets":[{"id":"198.18.1.11","state":"healthy","packetsToTarget":5,"checkMs":2}],"recentDrops":[{"reason":"oversize","size":9000,"sourcePort":1}],"healthEvents":[{"target":"198.18.1.11","state":"healthy"}],"failedEndpoints":["gwlbe1"]}"#,
                          #"{"type":"delta","seq":3,"removedTargets":["198.18.1.11"],"traffic":{"endpointPackets":3}}"#]
            let chunked = events.map { line in String(line.utf8.count + 1, radix: 16) + "\r\n" + line + "\n\r\n" }.joined() + "0\r\n\r\n"
            return [[1] + Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(chunked)".utf8),
                    [1] + Array("HTTP/1.1 200 OK\r\n\r\n\(events.joined(separator: "\n"))\n".utf8),
                    [1] + Array("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 20\r\n\r\n{\"error\": \"no way\"}".utf8),
                    [0] + Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".utf8),
                    [0] + Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\n\r\n".utf8)]
        }
    }

    /// A request signed as botocore signs one (the verifier's own signature, which botocore's
    /// matches in SignatureV4Tests): the fuzzer starts past every header check.
    static var signedRequest: [UInt8] {
        let date = "20261203T120000Z", body = "Action=DescribeLoadBalancers&Version=2015-12-01"
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8"), ("host", "198.18.0.1:8443"), ("x-amz-date", date)]
        let request = SignatureV4Verifier.Request(method: "POST", path: "/", query: "a=1&b=%20", headers: headers, body: Data(body.utf8))
        let signature = SignatureV4Verifier.signature(request, signedHeaders: ["content-type", "host", "x-amz-date"], amzDate: date,
                                                      scope: "20261203/us-east-1/elasticloadbalancing/aws4_request",
                                                      secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", service: "elasticloadbalancing")
        let authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/elasticloadbalancing/aws4_request, "
            + "SignedHeaders=content-type;host;x-amz-date, Signature=\(signature)"
        let head = ["POST /?a=1&b=%20"] + headers.map { "\($0.0): \($0.1)" } + ["authorization: \(authorization)"]
        return Array((head.joined(separator: "\n") + "\n\n" + body).utf8)
    }

    static func encoded(_ header: GeneveHeader) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: header.encodedLength)
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        return bytes
    }

    static func virtio(_ header: VirtioNetHeader) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: VirtioNetHeader.length)
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        return bytes
    }

    /// Writes the seeds into `directory` when it holds nothing yet (a fresh corpus).
    func plantSeeds(in directory: String) {
        guard (try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true else { return }
        for (index, seed) in seeds.enumerated() {
            FileManager.default.createFile(atPath: "\(directory)/seed-\(index)", contents: Data(seed))
        }
    }
}
