import Catalog
import Foundation
import Lab
import TestSupport
import Testing
@testable import Store
import TestTraits

/// A burst of 1,000 changes, each saved before it is acknowledged, a SIGKILL at a random point, and
/// a restart: every acknowledged change is there, and nothing half-applied.
@Suite(.blocking) struct DurabilityTests {
    @Test(arguments: 1...3)
    func killedMidBurstLosesNothingAcknowledged(run: Int) throws {
        let directory = NSTemporaryDirectory() + "gwlb-durability-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let probe = try ChildProcess([BuiltProducts.path("StoreCrashProbe"), directory, "1000"], output: .pipe)
        // Read acknowledgements until a random one, then kill without warning.
        let killAt = Int.random(in: 20...600)
        var acknowledged = 0
        var buffer = Data()
        let reader = probe.standardOutput!
        while acknowledged < killAt {
            let chunk = reader.availableData
            guard !chunk.isEmpty else { break }
            buffer.append(chunk)
            let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n")
            acknowledged = lines.compactMap { $0.hasPrefix("acked ") ? Int($0.dropFirst(6)) : nil }.max() ?? acknowledged
        }
        probe.signal(SIGKILL)
        probe.waitUntilExit()
        #expect(acknowledged >= killAt, "the probe stopped early: \(String(decoding: buffer, as: UTF8.self).suffix(200))")

        let stored = try #require(try CatalogStore(directory: directory).load())
        // The step in flight when the kill came may or may not have committed, but whole or not at all.
        let candidates = try (acknowledged...acknowledged + 2).map { try MutationScript.catalog(after: $0) }
        #expect(candidates.contains(stored), "the store is not the state after \(acknowledged) (or a few more) whole steps")
    }
}
