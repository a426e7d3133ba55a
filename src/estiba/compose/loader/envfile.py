"""`.env` and `env_file` parsing with compose v2's syntax.

    # comment                      ignored, as are blank lines
    export KEY=value               `export ` is dropped
    KEY=value # note               unquoted: trimmed, ` #...` after whitespace is a comment
    KEY='literal $X'               single quotes: taken as written, may span lines
    KEY="a\\nb ${X}"               double quotes: \\n \\r \\t \\\\ \\" \\$ escapes, may span lines
    KEY                            no `=`: the value comes from `lookup`, else the key is skipped

Unquoted and double-quoted values are interpolated with the file's earlier variables
first and `lookup` next. A value in the file is kept even when `lookup` knows the name
(the project's `.env` gives way to the environment later, in the loader).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from estiba.compose.loader.interpolation import TemplateError, substitute
from estiba.errors import InvalidArgument, NotFound

__all__ = ["parse_env_file", "parse_env_text"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "$": "$$"}


def parse_env_text(
    text: str,
    source: str,
    lookup: Callable[[str], str | None] | Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables `text` (the file `source`, named in errors) defines, in file order."""
    if isinstance(lookup, Mapping):
        lookup = lookup.get
    outer = lookup or (lambda name: None)
    result: dict[str, str] = {}

    def resolve(name: str) -> str | None:
        # The file's own earlier variables first, as compose-go's dotenv does.
        value = result.get(name)
        return value if value is not None else outer(name)

    pos, line_no = 0, 1
    text = text.replace("\r\n", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    while pos < len(text):
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end < 0 else line_end
        line = text[pos:line_end].strip()
        start_line = line_no
        if not line or line.startswith("#"):
            pos, line_no = line_end + 1, line_no + 1
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export") :].lstrip()
        key_match = _KEY.match(line)
        if not key_match:
            raise InvalidArgument(
                f"{source}:{start_line}: invalid variable name in {line[:40]!r}: use KEY=VALUE"
            )
        key, after = key_match.group(0), line[key_match.end() :].lstrip(" \t")
        if not after or after.startswith("#"):
            value = outer(key)
            if value is not None:
                result[key] = value
            pos, line_no = line_end + 1, line_no + 1
            continue
        if after[0] not in "=:":
            raise InvalidArgument(
                f"{source}:{start_line}: unexpected character {after[0]!r} after {key}: use KEY=VALUE"
            )
        raw = after[1:].lstrip(" \t")
        if raw[:1] in ("'", '"'):
            # A quoted value may run past this line: find its closing quote in the text.
            value_start = pos + len(text[pos:line_end].rstrip()) - len(raw)
            value, end = _quoted(text, value_start, source, start_line)
            line_no += text.count("\n", pos, end)
            rest_end = text.find("\n", end)
            rest_end = len(text) if rest_end < 0 else rest_end
            trailing = text[end:rest_end].strip()
            if trailing and not trailing.startswith("#"):
                raise InvalidArgument(
                    f"{source}:{start_line}: unexpected text after the quoted value of {key}: "
                    "put comments after a space and #"
                )
            if raw[0] == '"':
                value = _expand(value, resolve, source, start_line)
            result[key] = value
            pos, line_no = rest_end + 1, line_no + 1
            continue
        comment = re.search(r"[ \t]#", raw)
        if comment:
            raw = raw[: comment.start()]
        result[key] = _expand(raw.strip(), resolve, source, start_line)
        pos, line_no = line_end + 1, line_no + 1
    return result


def _quoted(text: str, start: int, source: str, line: int) -> tuple[str, int]:
    """The value of the quoted string at `start` and the index after its closing quote."""
    quote = text[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return "".join(out), pos + 1
        if quote == '"' and char == "\\" and pos + 1 < len(text):
            nxt = text[pos + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            pos += 2
            continue
        if quote == '"' and char == "$" and text[pos + 1 : pos + 2] == "$":
            out.append("$$")
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise InvalidArgument(f"{source}:{line}: unterminated quoted value: close it with {quote}")


def _expand(value: str, resolve: Callable[[str], str | None], source: str, line: int) -> str:
    if "$" not in value:
        return value
    try:
        return substitute(value, resolve)
    except TemplateError as exc:
        raise InvalidArgument(f"{source}:{line}: {exc.message}") from None


def parse_env_file(
    path: str,
    lookup: Callable[[str], str | None] | Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables the file at `path` defines; NotFound when it does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError as exc:
        raise NotFound(f"env file {path} not found: create it or remove it from the project") from exc
    except IsADirectoryError as exc:
        raise InvalidArgument(f"env file {path} is a directory: name a file") from exc
    except OSError as exc:
        raise InvalidArgument(f"cannot read env file {path}: {exc.strerror}") from exc
    return parse_env_text(text, path, lookup)
