"""estiba.runtime: an OCI runtime (runc's equivalent) as a library and the `estiba-runtime` command.

The public surface is re-exported lazily so that importing this package costs nothing:
the CLI imports only the modules a command needs.
"""

from __future__ import annotations

_EXPORTS = {
    "create": "estiba.runtime.container",
    "start": "estiba.runtime.container",
    "state_of": "estiba.runtime.container",
    "kill": "estiba.runtime.container",
    "delete": "estiba.runtime.container",
    "pause": "estiba.runtime.container",
    "resume": "estiba.runtime.container",
    "update": "estiba.runtime.container",
    "list_states": "estiba.runtime.container",
    "run": "estiba.runtime.run",
    "exec_process": "estiba.runtime.execute",
    "features": "estiba.runtime.features",
    "default_spec": "estiba.runtime.specgen",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'estiba.runtime' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
