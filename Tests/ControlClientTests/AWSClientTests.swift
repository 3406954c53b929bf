import ControlAPI
import ControlClient
import Foundation
import Lab
import Telemetry
import Testing
import TestTraits

/// The unmodified aws CLI and boto3 against the signed TCP API (`--endpoint-url`), as GWLB users'
/// scripts run them. `.ci/run` installs both from PyPI; without them these tests fail and say so.
@Suite(.blocking) struct AWSClientTests {
    static let key = "AKIDGWLBTEST0000", secret = "gwlb/test/secret/0123456789abcdefABCDEF"
    /// AWS's walkthrough registers two instances; the map resolves them.
    static let instances = ["i-1234567890abcdef0": "198.18.1.11", "i-0abcdef1234567890": "198.18.1.12"]

    /// Runs a program with the test's credentials; exit status, standard output, standard error.
    static func run(_ arguments: [String], secret: String = AWSClientTests.secret) async -> (status: Int32, output: String, errors: String) {
        await offPool {
            var environment = ProcessInfo.processInfo.environment
            environment["AWS_ACCESS_KEY_ID"] = key
            environment["AWS_SECRET_ACCESS_KEY"] = secret
            environment["AWS_DEFAULT_REGION"] = "us-east-1"
            environment["AWS_CONFIG_FILE"] = "/dev/null"
            environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
            environment["AWS_EC2_METADATA_DISABLED"] = "true"
            do { return try Shell.execute(arguments, environment: environment) } catch { return (-1, "", "\(error)") }
        }
    }

    static func requireTools() async throws {
        let check = await run(["python3", "-c", "import boto3, awscli"])
        guard check.status == 0 else {
            throw UnixHTTPClient.ConnectionError(description: "these tests need the aws CLI and boto3: pip install awscli boto3 (as .ci/run does)")
        }
    }

    /// AWS's getting-started walkthrough, verbatim but for --endpoint-url and --region.
    @Test func awsCLIWalkthrough() async throws {
        try await Self.requireTools()
        let api = try await APIServerFixture(instances: Self.instances)
        let port = try await api.listenOnTCP(credentials: [Self.key: Self.secret])
        func aws(_ arguments: [String], secret: String = Self.secret) async throws -> [String: Any] {
            let result = await Self.run(["aws", "elbv2"] + arguments + ["--endpoint-url", "http://127.0.0.1:\(port)", "--region", "us-east-1"], secret: secret)
            guard result.status == 0 else { throw UnixHTTPClient.ConnectionError(description: "aws elbv2 \(arguments[0]): \(result.errors)") }
            return result.output.isEmpty ? [:] : try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        }
        let lb = try #require(((try await aws(["create-load-balancer", "--name", "my-load-balancer", "--type", "gateway", "--subnets", "provider-subnet-id"]))["LoadBalancers"] as? [[String: Any]])?.first)
        let lbArn = try #require(lb["LoadBalancerArn"] as? String)
        #expect(lb["Type"] as? String == "gateway" && (lb["State"] as? [String: Any])?["Code"] as? String == "active")
        let tg = try #require(((try await aws(["create-target-group", "--name", "my-targets", "--protocol", "GENEVE", "--port", "6081", "--vpc-id", "provider-vpc-id"]))["TargetGroups"] as? [[String: Any]])?.first)
        let tgArn = try #require(tg["TargetGroupArn"] as? String)
        #expect(tg["Port"] as? Int == 6081 && tg["HealthCheckProtocol"] as? String == "TCP")
        _ = try await aws(["register-targets", "--target-group-arn", tgArn, "--targets", "Id=i-1234567890abcdef0", "Id=i-0abcdef1234567890"])
        let listener = try #require(((try await aws(["create-listener", "--load-balancer-arn", lbArn, "--default-actions", "Type=forward,TargetGroupArn=\(tgArn)"]))["Listeners"] as? [[String: Any]])?.first)
        #expect(((listener["DefaultActions"] as? [[String: Any]])?.first?["TargetGroupArn"] as? String) == tgArn)
        let health = try #require((try await aws(["describe-target-health", "--target-group-arn", tgArn]))["TargetHealthDescriptions"] as? [[String: Any]])
        #expect(health.compactMap { ($0["Target"] as? [String: Any])?["Id"] as? String }.sorted() == ["i-0abcdef1234567890", "i-1234567890abcdef0"])
        // What the aws CLI printed is what gwlbd holds.
        let held = api.service.read { catalog in (catalog.loadBalancers.map(\.arn.description), catalog.targetGroups.first?.targets.map(\.id).sorted()) }
        #expect(held.0 == [lbArn] && held.1 == ["i-0abcdef1234567890", "i-1234567890abcdef0"])

        // Refused, and nothing changes: a wrong secret, no signature.
        let before = api.service.read { $0 }
        let wrong = await Self.run(["aws", "elbv2", "delete-target-group", "--target-group-arn", tgArn, "--endpoint-url", "http://127.0.0.1:\(port)"], secret: "not-the-secret")
        #expect(wrong.status != 0 && wrong.errors.contains("SignatureDoesNotMatch"), "\(wrong.errors)")
        let unsigned = await Self.run(["aws", "elbv2", "delete-load-balancer", "--load-balancer-arn", lbArn, "--no-sign-request", "--endpoint-url", "http://127.0.0.1:\(port)"])
        #expect(unsigned.status != 0 && unsigned.errors.contains("MissingAuthenticationToken"), "\(unsigned.errors)")
        #expect(api.service.read { $0 } == before)
    }

    /// boto3: describe, modify, delete, attributes, a paginator over more than a page, and errors
    /// caught as botocore's exception classes; then a request signed 20 minutes ago, by hand.
    @Test func boto3Script() async throws {
        try await Self.requireTools()
        let api = try await APIServerFixture(instances: Self.instances)
        let port = try await api.listenOnTCP(credentials: [Self.key: Self.secret])
        let script = """
            import boto3, botocore, datetime, hashlib, hmac, sys, urllib.request
            url = 'http://127.0.0.1:\(port)'
            elbv2 = boto3.client('elbv2', endpoint_url=url, region_name='us-east-1')
            lb = elbv2.create_load_balancer(Name='lb', Type='gateway', Subnets=['subnet-1'])['LoadBalancers'][0]
            groups = [elbv2.create_target_group(Name='tg-%d' % i, Protocol='GENEVE', Port=6081, VpcId='vpc-1')['TargetGroups'][0] for i in range(5)]
            assert isinstance(lb['CreatedTime'], datetime.datetime), lb['CreatedTime']
            pages = list(elbv2.get_paginator('describe_target_groups').paginate(PaginationConfig={'PageSize': 2}))
            assert len(pages) == 3, len(pages)
            assert [g['TargetGroupName'] for p in pages for g in p['TargetGroups']] == ['tg-%d' % i for i in range(5)]
            arn = groups[0]['TargetGroupArn']
            modified = elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckProtocol='HTTP', HealthCheckPath='/health')['TargetGroups'][0]
            assert modified['HealthCheckPath'] == '/health' and modified['Matcher']['HttpCode'] == '200-399', modified
            attributes = elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[{'Key': 'deregistration_delay.timeout_seconds', 'Value': '30'}])['Attributes']
            assert {'Key': 'deregistration_delay.timeout_seconds', 'Value': '30'} in attributes
            elbv2.add_tags(ResourceArns=[arn], Tags=[{'Key': 'team', 'Value': 'net'}])
            assert elbv2.describe_tags(ResourceArns=[arn])['TagDescriptions'][0]['Tags'] == [{'Key': 'team', 'Value': 'net'}]
            assert elbv2.describe_target_health(TargetGroupArn=arn)['TargetHealthDescriptions'] == []
            assert elbv2.describe_listeners(LoadBalancerArn=lb['LoadBalancerArn'])['Listeners'] == []
            elbv2.delete_target_group(TargetGroupArn=groups[4]['TargetGroupArn'])
            caught = []
            try: elbv2.describe_target_groups(Names=['tg-4'])
            except elbv2.exceptions.TargetGroupNotFoundException: caught.append('TargetGroupNotFound')
            try: elbv2.create_target_group(Name='tg-0', Protocol='GENEVE', Port=6081, HealthCheckProtocol='HTTP')
            except elbv2.exceptions.DuplicateTargetGroupNameException: caught.append('DuplicateTargetGroupName')
            try: elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb['LoadBalancerArn'].replace('/lb/', '/gone/'))
            except elbv2.exceptions.LoadBalancerNotFoundException: caught.append('LoadBalancerNotFound')
            assert caught == ['TargetGroupNotFound', 'DuplicateTargetGroupName', 'LoadBalancerNotFound'], caught
            # Signed by hand, 20 minutes ago: RequestExpired.
            body = b'Action=DeleteLoadBalancer&Version=2015-12-01&LoadBalancerArn=' + lb['LoadBalancerArn'].encode()
            when = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
            amz, day = when.strftime('%Y%m%dT%H%M%SZ'), when.strftime('%Y%m%d')
            host = '127.0.0.1:\(port)'
            headers = 'content-type:application/x-www-form-urlencoded\\nhost:%s\\nx-amz-date:%s\\n' % (host, amz)
            canonical = '\\n'.join(['POST', '/', '', headers, 'content-type;host;x-amz-date', hashlib.sha256(body).hexdigest()])
            scope = day + '/us-east-1/elasticloadbalancing/aws4_request'
            to_sign = '\\n'.join(['AWS4-HMAC-SHA256', amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
            key = ('AWS4' + '\(Self.secret)').encode()
            for part in (day, 'us-east-1', 'elasticloadbalancing', 'aws4_request'): key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            request = urllib.request.Request(url + '/', data=body, method='POST', headers={
                'Content-Type': 'application/x-www-form-urlencoded', 'X-Amz-Date': amz,
                'Authorization': 'AWS4-HMAC-SHA256 Credential=\(Self.key)/%s, SignedHeaders=content-type;host;x-amz-date, Signature=%s' % (scope, signature)})
            try:
                urllib.request.urlopen(request); print('accepted')
            except urllib.error.HTTPError as error:
                print(error.read().decode())
            """
        let result = await Self.run(["python3", "-c", script])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("<Code>RequestExpired</Code>"), "\(result.output)")
        #expect(api.service.read { $0.loadBalancers.count } == 1, "the expired request deleted nothing")
    }

    /// The payload-hash replay (a captured signed request sent again with another body) and its
    /// variants, against the real TCP listener, every signature made by botocore's own SigV4Auth:
    /// the genuine request passes; the same headers with a swapped body, an X-Amz-Content-SHA256
    /// that names the original body but is not signed, a signed one that does not match the body,
    /// and UNSIGNED-PAYLOAD are all refused, and nothing is created.
    @Test func payloadHashCannotBeReplayedWithAnotherBody() async throws {
        try await Self.requireTools()
        let api = try await APIServerFixture(instances: Self.instances)
        let port = try await api.listenOnTCP(credentials: [Self.key: Self.secret])
        let script = """
            import hashlib, urllib.request, urllib.error
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            credentials = Credentials('\(Self.key)', '\(Self.secret)')
            url = 'http://127.0.0.1:\(port)/'
            genuine = b'Action=DescribeLoadBalancers&Version=2015-12-01'
            evil = b'Action=CreateLoadBalancer&Version=2015-12-01&Name=evil&Type=gateway&Subnets.member.1=subnet-evil'
            def sign(body, headers={}, unsigned_payload=False):
                # botocore signs UNSIGNED-PAYLOAD only for https URLs with payload signing off; the
                # Host header (what is signed) is the same either way.
                request = AWSRequest(method='POST', url=url.replace('http:', 'https:') if unsigned_payload else url, data=body,
                                     headers=dict({'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'}, **headers))
                if unsigned_payload: request.context['payload_signing_enabled'] = False
                SigV4Auth(credentials, 'elasticloadbalancing', 'us-east-1').add_auth(request)
                return dict(request.headers.items())
            def send(headers, body):
                try:
                    urllib.request.urlopen(urllib.request.Request(url, data=body, method='POST', headers=headers)); return 'accepted'
                except urllib.error.HTTPError as error:
                    text = error.read().decode()
                    return text.split('<Code>')[1].split('</Code>')[0] if '<Code>' in text else 'HTTP %d' % error.code
            captured = sign(genuine)
            print('genuine', send(captured, genuine))
            print('swapped', send(captured, evil))
            replay = dict(captured, **{'X-Amz-Content-SHA256': hashlib.sha256(genuine).hexdigest()})
            print('unsigned-hash-header', send(replay, evil))
            signed_hash = sign(genuine, {'X-Amz-Content-SHA256': hashlib.sha256(genuine).hexdigest()})
            print('signed-hash-header', send(signed_hash, genuine))
            print('signed-hash-header-swapped', send(signed_hash, evil))
            unsigned = sign(evil, unsigned_payload=True)
            assert unsigned['X-Amz-Content-SHA256'] == 'UNSIGNED-PAYLOAD', unsigned
            print('unsigned-payload', send(unsigned, evil))
            """
        let result = await Self.run(["python3", "-c", script])
        #expect(result.status == 0, "\(result.errors)")
        let outcomes = Dictionary(uniqueKeysWithValues: result.output.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        })
        #expect(outcomes == ["genuine": "accepted", "swapped": "SignatureDoesNotMatch", "unsigned-hash-header": "SignatureDoesNotMatch",
                             "signed-hash-header": "accepted", "signed-hash-header-swapped": "SignatureDoesNotMatch",
                             "unsigned-payload": "SignatureDoesNotMatch"], "\(result.output)")
        #expect(api.service.read { $0.loadBalancers.isEmpty }, "no replayed body created anything")
    }

    /// Unauthenticated 256 KiB requests as fast as a client sends them: each is refused on its
    /// headers, the audit trail keeps a few lines (and a count of the rest), and the Unix socket
    /// API answers throughout.
    @Test func unauthenticatedFloodBarelyGrowsTheTrail() async throws {
        let api = try await APIServerFixture(audited: true)
        let port = try await api.listenOnTCP(credentials: [Self.key: Self.secret])
        let script = """
            import http.client, threading
            body = b'Action=RegisterTargets&' + b'x' * (256 << 10)
            refused = []
            def flood(headers):
                for _ in range(100):
                    connection = http.client.HTTPConnection('127.0.0.1', \(port), timeout=10)
                    try:
                        connection.request('POST', '/', body=body, headers=headers)
                        refused.append(connection.getresponse().status)
                    except Exception as error:
                        refused.append(str(error))
                    connection.close()
            forged = {'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=00', 'X-Amz-Date': '20260101T000000Z'}
            threads = [threading.Thread(target=flood, args=(headers,)) for headers in ({}, forged, {}, forged)]
            for thread in threads: thread.start()
            for thread in threads: thread.join()
            print(sorted(set(map(str, refused))), len(refused))
            """
        let floodStarted = Date()
        let flood = Task.detached { await Self.run(["python3", "-c", script]) }
        // The socket API answers while the flood runs. (How fast is not asserted here: this suite
        // shares two cores with every other test running in parallel.)
        for _ in 0..<5 {
            let answer = await api.gwlb("describe-load-balancers", [])
            #expect(answer.code == 0)
        }
        let result = await flood.value
        let seconds = Date().timeIntervalSince(floodStarted)
        #expect(result.output.hasPrefix("['400', '403'] 400") || result.output.hasPrefix("['403'] 400"), "\(result.output) \(result.errors)")
        let lines = ((try? String(contentsOfFile: api.auditPath, encoding: .utf8)) ?? "").split(separator: "\n")
        // The burst, then the rate for as long as the flood lasted (plus the socket's own calls).
        let bound = AuditTrail.refusalsPerSecond * 2 + Int(seconds.rounded(.up)) * AuditTrail.refusalsPerSecond + 5
        #expect(lines.count <= bound, "\(lines.count) lines for 400 refusals in \(seconds) s")
        // The trail holds no bodies (each is 256 KiB of 'x'): short records only, however long the flood.
        let longest = lines.map(\.utf8.count).max() ?? 0
        #expect(longest < 4096 && !lines.contains { $0.contains(String(repeating: "x", count: 64)) }, "a record of \(longest) bytes")
    }

    /// Idle and trickling connections cannot hold the TCP API: past the cap a connection is closed
    /// at once, one that has not delivered a request head within the head timeout is closed
    /// (slowloris included), the socket API answers meanwhile, and a signed call works afterwards.
    @Test func idleAndSlowConnectionsAreCappedAndTimedOut() async throws {
        try await Self.requireTools()
        let api = try await APIServerFixture()
        var limits = ListenerLimits()
        limits.maximumConnections = 40
        limits.headTimeout = .seconds(1)
        limits.idleTimeout = .seconds(1)
        let counter = ConnectionCounter(limits: limits)
        let port = try await api.listenOnTCP(credentials: [Self.key: Self.secret], limits: limits, counter: counter)
        let script = """
            import select, socket, time
            slow = socket.create_connection(('127.0.0.1', \(port)))
            idle = [socket.create_connection(('127.0.0.1', \(port))) for _ in range(60)]
            def closed(sockets, wait):
                readable, _, _ = select.select(sockets, [], [], wait)
                return [s for s in readable if s.recv(1) == b'']
            started = time.time()
            for byte in b'POST / HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: ' + b'a' * 120:
                try:
                    slow.send(bytes([byte])); time.sleep(0.1)
                except OSError:
                    break
            print('slow closed after', round(time.time() - started))
            deadline = time.time() + 10
            while time.time() < deadline and len(closed(idle, 0.5)) < len(idle): time.sleep(0.2)
            print('idle left', len(idle) - len(closed(idle, 0.5)))
            """
        let flood = Task.detached { await Self.run(["python3", "-c", script]) }
        for _ in 0..<5 {
            #expect(await api.gwlb("describe-load-balancers", []).code == 0)
            try await Task.sleep(for: .milliseconds(200))
        }
        let result = await flood.value
        let lines = result.output.split(separator: "\n").map(String.init)
        // 61 connections against a cap of 40: at least 21 closed on arrival (how soon they arrive
        // depends on the machine's load), the rest by the head timeout.
        #expect(counter.refusedConnections >= 21, "\(counter.refusedConnections) refused; \(result.output) \(result.errors)")
        #expect(counter.refusedConnections + counter.timedOutConnections >= 61, "\(counter.timedOutConnections) timed out")
        // Accepted, it trickles a header byte every 0.1 s: closed well before its 15 s of bytes end
        // (the 1 s head timeout, and slack for a loaded machine).
        #expect(lines.contains { $0.hasPrefix("slow closed after") && (1...8).contains(Int($0.split(separator: " ").last ?? "") ?? 99) }, "\(result.output)")
        #expect(lines.last == "idle left 0", "\(result.output)")
        let described = await Self.run(["aws", "elbv2", "describe-load-balancers", "--endpoint-url", "http://127.0.0.1:\(port)", "--region", "us-east-1"])
        #expect(described.status == 0, "\(described.errors)")
    }
}
