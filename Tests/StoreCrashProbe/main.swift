// StoreCrashProbe DIRECTORY STEPS: applies MutationScript's steps one by one, saving each to the
// store in DIRECTORY and printing "acked N" once step N is committed. The durability test kills it
// with SIGKILL at a random moment.
import Catalog
import Foundation
import Store
import TestSupport

let directory = CommandLine.arguments[1]
let steps = Int(CommandLine.arguments[2]) ?? 1000
let store = try CatalogStore(directory: directory)
var catalog = ResourceCatalog(region: "eu-west-1", account: "111122223333")
for step in 0..<steps {
    try MutationScript.apply(step: step, to: &catalog)
    try store.save(catalog)
    // Unbuffered: the test must see each acknowledgement as soon as it is given.
    FileHandle.standardOutput.write(Data("acked \(step + 1)\n".utf8))
}
