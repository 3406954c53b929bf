import ArgumentParser
import Testing
@testable import Daemon

/// gwlbd's command line refuses what it cannot use, with a message and the usage status (64), where
/// the hand-written parser it replaces kept the default for a flag whose value was missing.
@Suite struct GwlbdCommandTests {
    func refusal(_ arguments: [String]) -> (code: Int32, message: String)? {
        do {
            _ = try GwlbdCommand.parseAsRoot(arguments)
            return nil
        } catch {
            return (GwlbdCommand.exitCode(for: error).rawValue, GwlbdCommand.message(for: error))
        }
    }

    @Test func mistakesAreRefusedWithTheirReason() {
        let cases: [([String], String)] = [
            (["--state-dir", "/var/lib/gwlb", "--socket"], "Missing value for '--socket"),
            (["--state-dir"], "Missing value for '--state-dir"),
            (["--geneve-address", "198.18.1.1", "--bogus"], "Unknown option '--bogus'"),
            (["--config", "f.json", "--flow-log", "x", "--flow-log-interval", "30"], "60 or 600 seconds"),
            (["--config", "f.json", "--flow-log-max-bytes", "100"], "at least 4096"),
            (["--config", "f.json", "--flow-log-interval", "sixty"], "flow-log-interval"),
            (["--state-dir", "d", "--api-listen", "127.0.0.1:8443"], "--api-listen needs --api-credentials"),
            (["--state-dir", "d", "--api-listen", "127.0.0.1:8443", "--api-credentials", "c", "--api-key", "k.pem"], "HTTPS needs both"),
            (["--cleanup"], "--cleanup needs --state-dir DIR or --config FILE"),
            (["--state-dir", "d", "--cleanup", "--detach"], "--detach and --cleanup exclude each other"),
            (["--state-dir", "d", "--database", "mysql://u@h/d"], "give postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"),
            (["--config", "f.json", "--database", "postgres://u@h/d"], "--database needs --state-dir"),
            (["--state-dir", "d", "--node-name", "n1"], "--node-name needs --database"),
        ]
        for (arguments, message) in cases {
            let refused = refusal(arguments)
            #expect(refused?.code == 64, "\(arguments): \(refused.map { "\($0.code) \($0.message)" } ?? "accepted")")
            #expect(refused?.message.contains(message) == true, "\(arguments): \(refused?.message ?? "accepted")")
        }
    }

    @Test func bothFormsParseWithTheirDefaults() throws {
        let api = try #require(try GwlbdCommand.parseAsRoot(["--state-dir", "/var/lib/gwlb", "--geneve-address", "198.18.1.1"]) as? GwlbdCommand)
        #expect(api.stateDirectory == "/var/lib/gwlb" && api.geneveAddress == "198.18.1.1")
        #expect(api.socketPath == "/run/gwlb/gwlb.sock" && api.region == "us-east-1" && api.flowLogInterval == 60 && !api.cleanup)
        let file = try #require(try GwlbdCommand.parseAsRoot(["--config", "gwlbd.json", "--flow-log", "flows.log", "--flow-log-interval", "600"]) as? GwlbdCommand)
        #expect(file.configurationPath == "gwlbd.json" && file.flowLogPath == "flows.log" && file.flowLogInterval == 600)
    }
}
