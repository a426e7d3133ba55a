"""estiba.engine: containers, their configuration and lifecycle (the daemon's core).

Public names are re-exported lazily, so importing the package costs nothing.
"""

from __future__ import annotations

_EXPORTS = {
    "ContainerConfig": "estiba.engine.config",
    "HostConfig": "estiba.engine.hostconfig",
    "ImageConfig": "estiba.engine.config",
    "Machine": "estiba.engine.machine",
    "build_spec": "estiba.engine.ocispec",
    "resolve_user": "estiba.engine.users",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'estiba.engine' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
