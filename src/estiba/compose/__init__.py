"""Compose: multi-container applications from a compose file, driven through the Engine API.

`loader` reads and resolves the files into the canonical model (`model.Project`),
`engine` converges the engine's containers, networks and volumes to that model, and
`estiba.cli.commands.compose` is `estiba compose` (docker compose v2's command line).
"""
