import Foundation
import Lab
import Testing
import TestTraits

/// gwlbd's signed TCP API over HTTPS in the lab: the unmodified aws CLI (from PyPI) manages it with
/// `--endpoint-url` and a CA bundle; gwlbd refuses a credentials file others can read.
@Suite(.serialized, .blocking) struct SignedAPIEndToEndTests {
    @Test func awsCLIOverHTTPS() throws {
        let api = try APIDaemonFixture(appliances: 1)
        defer { api.tearDown() }
        let lab = api.lab
        guard (try? LabFixture.execute(["aws", "--version"]).status) == 0 else {
            throw LabFixture.Failure("this test needs the aws CLI: pip install awscli (as .ci/run does)")
        }
        let directory = "/tmp/\(lab.lab.prefix)-tls"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (certificate, key, credentials) = (directory + "/cert.pem", directory + "/key.pem", directory + "/credentials")
        let made = try LabFixture.execute(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=gwlbd", "-days", "1",
                                           "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate])
        #expect(made.status == 0, "\(made.output)")
        try "[default]\naws_access_key_id = AKIDLAB\naws_secret_access_key = lab/secret\n".write(toFile: credentials, atomically: true, encoding: .utf8)
        let listen = ["--api-listen", "127.0.0.1:8443", "--api-credentials", credentials, "--api-certificate", certificate, "--api-key", key]

        // Readable by others: refused, with what to do.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: credentials)
        let refused = try lab.run(lab.lab.router, [LabFixture.binary("gwlbd"), "--state-dir", api.state, "--socket", api.socket,
                                                   "--geneve-address", Lab.geneveAddress] + listen)
        #expect(refused.status == 1 && refused.output.contains("chmod 600"), "\(refused.output)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: credentials)
        try api.start(extra: listen)
        let before = try api.auditEvents().count  // start's own describe-load-balancers

        func aws(_ arguments: [String], secret: String = "lab/secret") throws -> (status: Int32, output: String) {
            try lab.run(lab.lab.router, ["env", "AWS_ACCESS_KEY_ID=AKIDLAB", "AWS_SECRET_ACCESS_KEY=\(secret)", "AWS_CONFIG_FILE=/dev/null",
                                         "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
                                         "aws", "elbv2"] + arguments + ["--endpoint-url", "https://127.0.0.1:8443", "--region", "us-east-1",
                                                                        "--ca-bundle", certificate])
        }
        let created = try aws(["create-load-balancer", "--name", "my-load-balancer", "--type", "gateway", "--subnets", "provider-subnet-id"])
        #expect(created.status == 0, "\(created.output)")
        // The Unix socket (unsigned, mode 0660) sees what the signed API made.
        let names = try api.gwlb(["describe-load-balancers", "--query", "LoadBalancers[].LoadBalancerName", "--output", "text"])
        #expect(names.output == "my-load-balancer\n", "\(names.output)")
        let wrong = try aws(["describe-load-balancers"], secret: "not-it")
        #expect(wrong.status != 0 && wrong.output.contains("SignatureDoesNotMatch"), "\(wrong.output)")

        // The audit trail has all three calls: who, from where, with what, and how it ended.
        let events = Array(try api.auditEvents().dropFirst(before))
        #expect(events.map { $0["eventName"] as? String } == ["CreateLoadBalancer", "DescribeLoadBalancers", "DescribeLoadBalancers"])
        let create = try #require(events.first)
        #expect((create["userIdentity"] as? [String: Any])?["accessKeyId"] as? String == "AKIDLAB")
        #expect(create["sourceIPAddress"] as? String == "127.0.0.1")
        #expect((create["userAgent"] as? String)?.hasPrefix("aws-cli/") == true, "\(create)")
        #expect((create["requestParameters"] as? [String: Any])?["name"] as? String == "my-load-balancer")
        #expect((events[1]["userIdentity"] as? [String: Any])?["principalId"] as? String == "uid:0", "the socket's caller is its peer's uid")
        #expect(events[1]["userAgent"] as? String == "gwlb-cli")
        #expect(events[2]["errorCode"] as? String == "SignatureDoesNotMatch")
    }
}
