"""estiba.build: Dockerfiles to images, with Docker's classic builder's behaviour and cache.

    dockerfile     the parser (pure): text to stages of instructions
    expand         variable substitution and quote removal (pure)
    instructions   what each instruction does to the image config, its command, its copy
    ignore         .dockerignore patterns (pure)
    context        the context: packed by the CLI, unpacked by the daemon
    cache          cache keys and the SQLite cache
    copying        COPY/ADD sources and their writing into a root
    layers         snapshots, layers and step images (the thin part touching the system)
    runstep        a RUN in a container through the engine
    builder        stages and steps, the output stream

Names are re-exported lazily: importing this package costs nothing.
"""

from __future__ import annotations

_EXPORTS = {
    "Builder": "estiba.build.builder",
    "BuildOptions": "estiba.build.builder",
    "BuildMessage": "estiba.build.builder",
    "BuildCache": "estiba.build.cache",
    "BuildContext": "estiba.build.context",
    "pack_context": "estiba.build.packing",
    "open_context": "estiba.build.context",
    "parse_dockerfile": "estiba.build.dockerfile",
    "Dockerfile": "estiba.build.dockerfile",
    "DockerfileError": "estiba.build.errors",
    "BuildFailed": "estiba.build.errors",
    "IgnoreMatcher": "estiba.build.ignore",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'estiba.build' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
