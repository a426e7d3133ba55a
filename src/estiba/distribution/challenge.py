"""WWW-Authenticate challenges (RFC 7235): `Bearer realm="...",service="...",scope="..."`.

A registry answers 401 with one or more challenges; the scheme says how to authenticate
(Basic: send the credentials; Bearer: get a token from `realm` for `service` and `scope`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Challenge:
    """One challenge: the scheme in lower case and its parameters (keys in lower case)."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scope(self) -> str:
        return self.params.get("scope", "")


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a WWW-Authenticate value; malformed parts are skipped."""
    challenges: list[Challenge] = []
    parser = _Parser(header)
    while not parser.done():
        parser.skip(" \t,")
        scheme = parser.token()
        if not scheme:
            parser.advance()
            continue
        params: dict[str, str] = {}
        while True:
            mark = parser.pos
            parser.skip(" \t,")
            key = parser.token()
            parser.skip(" \t")
            if not key or not parser.take("="):
                parser.pos = mark  # the next scheme starts here
                break
            parser.skip(" \t")
            value = parser.quoted() if parser.peek() == '"' else parser.token()
            params[key.lower()] = value
        challenges.append(Challenge(scheme.lower(), params))
    return challenges


class _Parser:
    _TOKEN_END = frozenset(' \t,="')

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if not self.done() else ""

    def advance(self) -> None:
        self.pos += 1

    def skip(self, chars: str) -> None:
        while not self.done() and self.text[self.pos] in chars:
            self.pos += 1

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def token(self) -> str:
        start = self.pos
        while not self.done() and self.text[self.pos] not in self._TOKEN_END:
            self.pos += 1
        return self.text[start : self.pos]

    def quoted(self) -> str:
        self.pos += 1  # the opening quote
        out: list[str] = []
        while not self.done():
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and not self.done():
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == '"':
                break
            else:
                out.append(char)
        return "".join(out)
