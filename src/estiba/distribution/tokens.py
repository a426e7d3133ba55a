"""Bearer tokens cached per (registry, scope), renewed shortly before they expire.

Docker Hub's tokens live 300 s; a pull of a large image outlives one, so a cached token is
used only while it has `margin` seconds left, and a 401 invalidates it at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# What the token spec says to assume when a token response has no expires_in.
DEFAULT_TOKEN_LIFETIME = 60.0


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float


class TokenCache:
    """Tokens by key; `clock` is injectable so that expiry is testable without sleeping."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, margin: float = 10.0):
        self._clock = clock
        self._margin = margin
        self._tokens: dict[tuple[str, ...], Token] = {}

    def get(self, key: tuple[str, ...]) -> str | None:
        token = self._tokens.get(key)
        if token is None:
            return None
        if token.expires_at - self._margin <= self._clock():
            del self._tokens[key]
            return None
        return token.value

    def put(self, key: tuple[str, ...], value: str, lifetime: float | None) -> None:
        seconds = DEFAULT_TOKEN_LIFETIME if not lifetime or lifetime <= 0 else float(lifetime)
        self._tokens[key] = Token(value, self._clock() + seconds)

    def invalidate(self, key: tuple[str, ...]) -> None:
        self._tokens.pop(key, None)

    def __len__(self) -> int:
        return len(self._tokens)
