"""estiba.api: the Docker Engine API server, in front of the engine's backends.

`build_app(Backends(...))` makes the aiohttp application; `ApiServer` serves it on a unix
socket. The backend Protocols and the typed values they exchange are the contract with
the engine. Names are re-exported lazily, so importing the package costs nothing.
"""

from __future__ import annotations

_EXPORTS = {
    "API_VERSION": "estiba.api.routes",
    "MIN_API_VERSION": "estiba.api.routes",
    "ApiServer": "estiba.api.server",
    "Backends": "estiba.api.backend",
    "ContainerBackend": "estiba.api.backend",
    "ExecBackend": "estiba.api.backend",
    "ImageBackend": "estiba.api.backend",
    "SystemBackend": "estiba.api.backend",
    "build_app": "estiba.api.app",
    "types": "estiba.api.types",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'estiba.api' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(module_name)
    return module if name == "types" else getattr(module, name)
