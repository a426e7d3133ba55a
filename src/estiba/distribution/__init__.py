"""Images to and from registries: the OCI distribution API and Docker's Registry HTTP
API v2, with Docker's reference rules, auth (Basic and bearer tokens), mirrors and
insecure registries, verified parallel pulls, pushes, and config.json credentials.

Names are re-exported lazily: the CLI imports `credentials` without aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

_EXPORTS = {
    "AuthConfig": "estiba.distribution.credentials",
    "DockerConfig": "estiba.distribution.credentials",
    "find_credentials": "estiba.distribution.credentials",
    "store_credentials": "estiba.distribution.credentials",
    "erase_credentials": "estiba.distribution.credentials",
    "Challenge": "estiba.distribution.challenge",
    "parse_challenges": "estiba.distribution.challenge",
    "TokenCache": "estiba.distribution.tokens",
    "RegistryOptions": "estiba.distribution.registries",
    "Endpoint": "estiba.distribution.registries",
    "endpoints": "estiba.distribution.registries",
    "parse_platform": "estiba.distribution.platforms",
    "select_manifest": "estiba.distribution.platforms",
    "RegistryService": "estiba.distribution.service",
    "RegistrySession": "estiba.distribution.session",
    "Repository": "estiba.distribution.repository",
    "Transport": "estiba.distribution.transport",
    "AiohttpTransport": "estiba.distribution.transport",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from estiba.distribution.challenge import Challenge, parse_challenges
    from estiba.distribution.credentials import (
        AuthConfig,
        DockerConfig,
        erase_credentials,
        find_credentials,
        store_credentials,
    )
    from estiba.distribution.platforms import parse_platform, select_manifest
    from estiba.distribution.registries import Endpoint, RegistryOptions, endpoints
    from estiba.distribution.repository import Repository
    from estiba.distribution.service import RegistryService
    from estiba.distribution.session import RegistrySession
    from estiba.distribution.tokens import TokenCache
    from estiba.distribution.transport import AiohttpTransport, Transport


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'estiba.distribution' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
