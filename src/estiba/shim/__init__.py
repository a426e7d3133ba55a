"""estiba.shim: the per-container monitor and the fork server that starts it.

    server = ForkServer.start()                      # once, by the daemon
    handle = server.spawn(ShimSpec(container_id=..., bundle=..., state_dir=..., log_path=...))
    ShimClient(state_dir).wait()                     # from this or any later daemon

`spawn(spec, start=False)` only creates: attach first (`attach()` returns once the
client is subscribed), then `start()`, so that no output is missed (`docker run -a`).
`ShimClient` also sends resize/kill/close_stdin and `exec(exec_id, oci_process, attach=...)`.
The state directory's files are listed in `estiba.shim.statedir`.

A shim creates its container with the runtime, writes its output to a json-file log,
serves attach and control sockets in its state directory and records the exit in
exit.json. It is no child of the daemon, so containers outlive it (live restore).
Names load on first use: importing this package costs nothing.
"""

from __future__ import annotations

_EXPORTS = {
    "ShimSpec": "estiba.shim.spec",
    "ShimClient": "estiba.shim.client",
    "ShimHandle": "estiba.shim.client",
    "ForkServer": "estiba.shim.forkserver",
    "spawn_direct": "estiba.shim.forkserver",
    "AttachRequest": "estiba.shim.attach",
    "FrameReader": "estiba.shim.attach",
    "encode_frame": "estiba.shim.attach",
    "JsonFileLog": "estiba.shim.logs",
    "read_entries": "estiba.shim.logs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'estiba.shim' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
