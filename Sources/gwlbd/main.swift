import Daemon
import Foundation

exit(DaemonCommandLine.run(Array(CommandLine.arguments.dropFirst())))
