"""Output formats: a small Go-template subset and docker's tab-aligned tables.

Templates: `{{.Field}}`, `{{.A.B}}`, `{{json .}}`, `{{json .Field}}`, `{{index .Map "key"}}`,
`{{upper .X}}`, `{{lower .X}}`; values print as Go prints them (true, map[a:b], [x y],
<no value>). A `table` prefix makes a header row from the field names and aligns columns
the way docker's tabwriter does (min width 10, padding 3).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence

from estiba.errors import InvalidArgument

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Template", "go_json", "go_value", "render_table", "tabulate"]

_ACTION_RE = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.DOTALL)
_MIN_WIDTH, _PADDING = 10, 3


class Template:
    """A parsed --format: render(value) per row; `table` says whether to print a header."""

    def __init__(self, text: str, headers: Mapping[str, str] | None = None) -> None:
        text = text.replace("\\t", "\t").replace("\\n", "\n")
        self.table = text.startswith("table")
        if self.table:
            text = text[len("table") :].lstrip(" ")
        self.text = text
        self._parts = _parse(text)
        self._headers = headers or {}

    def render(self, value: Any) -> str:
        out = []
        for kind, item in self._parts:
            out.append(item if kind == "text" else go_value(_evaluate(item, value)))
        return "".join(out)

    def header(self) -> str:
        out = []
        for kind, item in self._parts:
            if kind == "text":
                out.append(item)
            else:
                field = item[-1].split(".")[-1] if item else ""
                out.append(self._headers.get(field, field.upper()))
        return "".join(out)


def _parse(text: str) -> list[tuple[str, Any]]:
    parts: list[tuple[str, Any]] = []
    position = 0
    for match in _ACTION_RE.finditer(text):
        if match.start() > position:
            parts.append(("text", text[position : match.start()]))
        try:
            words = shlex.split(match.group(1))
        except ValueError as exc:
            raise InvalidArgument(f"template parsing error: {exc}") from None
        if not words:
            raise InvalidArgument("template parsing error: missing value for command")
        parts.append(("action", words))
        position = match.end()
    if "{{" in text[position:]:
        raise InvalidArgument("template parsing error: unclosed action")
    parts.append(("text", text[position:]))
    return parts


def _evaluate(words: list[str], dot: Any) -> Any:
    name, args = words[0], [_lookup(w, dot) for w in words[1:]]
    if name.startswith("."):
        return _lookup(name, dot)
    if name == "json":
        return _Raw(go_json(args[0] if args else dot))
    if name == "index" and len(args) >= 2:
        value = args[0]
        for key in args[1:]:
            value = value.get(key) if isinstance(value, Mapping) else value[int(key)]
        return value
    if name in ("upper", "lower") and args:
        return getattr(go_value(args[0]), name)()
    if name == "join" and len(args) == 2:
        return _Raw(str(args[1]).join(go_value(v) for v in args[0] or ()))
    raise InvalidArgument(f'template: function "{name}" not defined')


def _lookup(path: str, dot: Any) -> Any:
    if not path.startswith("."):
        return path  # a literal, quotes already removed
    value = dot
    for key in filter(None, path[1:].split(".")):
        if isinstance(value, Mapping):
            if key not in value:
                return _NO_VALUE
            value = value[key]
        else:
            raise InvalidArgument(f"template: can't evaluate field {key}")
    return value


class _Raw(str):
    """Already formatted text (json's output)."""


_NO_VALUE = object()


def go_json(value: Any) -> str:
    """json.Marshal's output: compact, map keys sorted, <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def go_value(value: Any) -> str:
    """A value as Go's text/template prints it."""
    if value is _NO_VALUE:
        return "<no value>"
    if isinstance(value, _Raw):
        return str(value)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    return str(value)


def tabulate(rows: Iterable[Sequence[str]]) -> str:
    """Rows aligned as docker's tabwriter aligns them; the last cell is not padded."""
    rows = [list(r) for r in rows]
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            width = max(len(cell) + _PADDING, _MIN_WIDTH)
            if i == len(widths):
                widths.append(width)
            else:
                widths[i] = max(widths[i], width)
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + (row[-1] if row else ""))
    return "".join(line + "\n" for line in lines)


def render_table(template: Template, rows: Sequence[Any]) -> str:
    """A `table ...` template: header then rows, tab-separated cells aligned."""
    lines = [template.header()] + [template.render(row) for row in rows]
    if "\t" not in template.text:
        return "".join(line + "\n" for line in lines)
    return tabulate(line.split("\t") for line in lines)


def render_rows(template: Template, rows: Sequence[Any]) -> str:
    """What a listing prints: the aligned table for a `table ...` template, else one
    rendered line per row (docker's --format)."""
    if template.table:
        return render_table(template, rows)
    return "".join(template.render(row) + "\n" for row in rows)
