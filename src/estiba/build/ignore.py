"""`.dockerignore`: Docker's pattern rules (moby's patternmatcher), pure.

Patterns are matched against slash-separated paths relative to the context root. `*`
matches within one path component, `?` one character, `[...]` a class, `**` any number
of components (zero too); `!` makes a pattern an exception. The last pattern that matches
a path, or one of its parent directories, decides.
"""

from __future__ import annotations

import posixpath
import re
from collections import namedtuple

__all__ = ["IgnoreMatcher", "parse_dockerignore"]


class _Pattern(namedtuple("_Pattern", "text exclusion regex")):
    """One pattern: its cleaned text, whether it is an exception (`!`), its regex."""

    __slots__ = ()

    def match(self, path: str) -> bool:
        return self.regex.match(path) is not None


def parse_dockerignore(text: str) -> list[str]:
    """The patterns of a .dockerignore file: comments and blank lines dropped, each
    pattern cleaned (a leading `/` removed, `./` and `//` folded)."""
    patterns = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = posixpath.normpath(pattern)
            pattern = pattern.lstrip("/") or "."
        patterns.append(("!" if invert else "") + pattern)
    return patterns


def _regex(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < len(pattern) and pattern[i] == "/":
                    out.append("(.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                if body.startswith(("!", "^")):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out), re.DOTALL)


class IgnoreMatcher:
    """Whether a context path is excluded by a .dockerignore's patterns."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = [
            _Pattern(p[1:] if p.startswith("!") else p, p.startswith("!"), _regex(p[1:] if p.startswith("!") else p))
            for p in patterns
        ]
        self.has_exceptions = any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        path = posixpath.normpath(path).lstrip("/")
        if not self.patterns or path in (".", ""):
            return False
        parents = path.split("/")[:-1]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path)
            if not hit:
                for i in range(len(parents)):
                    if pattern.match("/".join(parents[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pattern.exclusion
        return matched

    def may_include_below(self, directory: str) -> bool:
        """Whether an excluded directory may still hold included paths (an exception
        pattern could match under it): then a walk must go in."""
        directory = directory.strip("/")
        for pattern in self.patterns:
            if not pattern.exclusion:
                continue
            text = pattern.text
            if "**" in text or text.startswith(directory + "/") or _prefix_could_match(text, directory):
                return True
        return False


def _prefix_could_match(pattern: str, directory: str) -> bool:
    """Whether the first components of `pattern` match `directory`'s components."""
    parts = pattern.split("/")
    dirs = directory.split("/")
    if len(parts) <= len(dirs):
        return False
    return all(_regex(p).match(d) for p, d in zip(parts, dirs))
