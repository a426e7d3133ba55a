"""Variable substitution in compose files: `$VAR`, `${VAR}`, `${VAR:-default}` and friends.

The forms follow the compose specification's interpolation section:

    ${VAR:-default} / ${VAR-default}   default when VAR is unset or empty / unset
    ${VAR:?error}   / ${VAR?error}     error when VAR is unset or empty / unset
    ${VAR:+alt}     / ${VAR+alt}       alt when VAR is set and not empty / set
    $$                                 a literal $

Defaults, alternatives and error messages may themselves hold substitutions, evaluated
only when used. An unset variable without a default becomes "" and is reported once
through `warn`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from estiba.compose.loader.yamlfile import Override
from estiba.errors import InvalidArgument

__all__ = ["TemplateError", "interpolate_tree", "substitute"]

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class TemplateError(InvalidArgument):
    """A malformed template or a missing required variable."""


class _Substituter:
    def __init__(self, lookup: Callable[[str], str | None], warn: Callable[[str], None]) -> None:
        self.lookup = lookup
        self.warn = warn

    def run(self, text: str) -> str:
        out: list[str] = []
        pos = 0
        while True:
            dollar = text.find("$", pos)
            if dollar < 0:
                out.append(text[pos:])
                return "".join(out)
            out.append(text[pos:dollar])
            pos = self._one(text, dollar, out)

    def _one(self, text: str, dollar: int, out: list[str]) -> int:
        """Substitutes the expression starting at `dollar`; returns the index after it."""
        nxt = text[dollar + 1 : dollar + 2]
        if nxt == "$":
            out.append("$")
            return dollar + 2
        if nxt == "{":
            end = _closing_brace(text, dollar + 2)
            if end < 0:
                raise TemplateError(f"invalid interpolation format {text!r}: missing closing brace")
            out.append(self._braced(text[dollar + 2 : end], text))
            return end + 1
        match = _NAME.match(text, dollar + 1)
        if not match:
            raise TemplateError(
                f"invalid interpolation format {text!r}: you may need to escape any $ with another $"
            )
        out.append(self._value(match.group(0)))
        return match.end()

    def _value(self, name: str) -> str:
        value = self.lookup(name)
        if value is None:
            self.warn(name)
            return ""
        return value

    def _braced(self, body: str, whole: str) -> str:
        match = _NAME.match(body)
        if not match:
            raise TemplateError(
                f"invalid interpolation format {whole!r}: bad variable name in ${{{body}}}"
            )
        name, rest = match.group(0), body[match.end() :]
        if not rest:
            return self._value(name)
        operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
        if operator is None:
            raise TemplateError(
                f"invalid interpolation format {whole!r}: unknown operator in ${{{body}}}"
            )
        argument = rest[len(operator) :]
        value = self.lookup(name)
        present = value is not None and (value != "" or ":" not in operator)
        kind = operator[-1]
        if kind == "-":
            return value if present else self.run(argument)  # type: ignore[return-value]
        if kind == "+":
            return self.run(argument) if present else ""
        if not present:
            message = self.run(argument)
            detail = f": {message}" if message else ""
            raise TemplateError(f"required variable {name} is missing a value{detail}")
        return value  # type: ignore[return-value]


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing a `${` whose body starts at `start`, nested `${...}` skipped."""
    depth = 1
    pos = start
    while pos < len(text):
        char = text[pos]
        if char == "$" and text[pos + 1 : pos + 2] == "$":
            pos += 2
            continue
        if char == "$" and text[pos + 1 : pos + 2] == "{":
            depth += 1
            pos += 2
            continue
        if char == "}":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return -1


def substitute(
    text: str,
    lookup: Callable[[str], str | None] | Mapping[str, str],
    warn: Callable[[str], None] = lambda name: None,
) -> str:
    """`text` with its substitutions done; `lookup` maps a name to its value or None."""
    if isinstance(lookup, Mapping):
        lookup = lookup.get
    return _Substituter(lookup, warn).run(text)


def interpolate_tree(
    tree: object,
    environment: Mapping[str, str],
    warn: Callable[[str], None],
    path: str = "",
) -> object:
    """Every string value (not key) in `tree` substituted; errors name the value's path."""
    if isinstance(tree, dict):
        return {
            key: interpolate_tree(value, environment, warn, f"{path}.{key}" if path else str(key))
            for key, value in tree.items()
        }
    if isinstance(tree, list):
        return [interpolate_tree(item, environment, warn, f"{path}[{i}]") for i, item in enumerate(tree)]
    if isinstance(tree, Override):
        return Override(interpolate_tree(tree.value, environment, warn, path))
    if isinstance(tree, str) and "$" in tree:
        try:
            return substitute(tree, environment, warn)
        except TemplateError as exc:
            raise TemplateError(f"{path}: {exc.message}") from None
    return tree
