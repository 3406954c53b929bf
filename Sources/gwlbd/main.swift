import Daemon

GwlbdCommand.main()
