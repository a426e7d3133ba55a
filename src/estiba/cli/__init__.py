"""estiba.cli: the `estiba` command, docker's syntax over the Engine API on a unix socket.

`main` (in `estiba.cli.main`) is the entry point; each command is one module under
`estiba.cli.commands`, imported only when it runs.
"""
