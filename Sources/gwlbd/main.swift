import ControlAPI
import Daemon
import Foundation

// gwlbd --config FILE [--stats-file FILE] [--state-dir DIR [--socket PATH] [--region R] [--account A]]
let usage = "usage: gwlbd --config FILE [--stats-file FILE] [--state-dir DIR [--socket PATH] [--region REGION] [--account ACCOUNT]]"
var arguments = CommandLine.arguments.dropFirst()
var configurationPath: String?
var statisticsPath: String?
var stateDirectory: String?
var socketPath = APIServer.defaultSocketPath
var region = "us-east-1", account = "123456789012"
while let argument = arguments.popFirst() {
    switch argument {
    case "--config": configurationPath = arguments.popFirst()
    case "--stats-file": statisticsPath = arguments.popFirst()
    case "--state-dir": stateDirectory = arguments.popFirst()
    case "--socket": socketPath = arguments.popFirst() ?? socketPath
    case "--region": region = arguments.popFirst() ?? region
    case "--account": account = arguments.popFirst() ?? account
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        FileHandle.standardError.write(Data("gwlbd: unknown argument \(argument)\n\(usage)\n".utf8))
        exit(64)
    }
}
guard let configurationPath else {
    FileHandle.standardError.write(Data("gwlbd: --config is required\n\(usage)\n".utf8))
    exit(64)
}
do {
    try Daemon(configurationPath: configurationPath, statisticsPath: statisticsPath, stateDirectory: stateDirectory,
               socketPath: socketPath, region: region, account: account).run()
} catch {
    FileHandle.standardError.write(Data("gwlbd: \(error)\n".utf8))
    exit(1)
}
