import Daemon
import Foundation

// gwlbd --config FILE [--stats-file FILE]
let usage = "usage: gwlbd --config FILE [--stats-file FILE]"
var arguments = CommandLine.arguments.dropFirst()
var configurationPath: String?
var statisticsPath: String?
while let argument = arguments.popFirst() {
    switch argument {
    case "--config": configurationPath = arguments.popFirst()
    case "--stats-file": statisticsPath = arguments.popFirst()
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
    try Daemon(configurationPath: configurationPath, statisticsPath: statisticsPath).run()
} catch {
    FileHandle.standardError.write(Data("gwlbd: \(error)\n".utf8))
    exit(1)
}
