"""Reading one JSON object of a Docker API body into Python values, field by field.

The rules are those of Go's encoding/json as dockerd applies them, so that a body dockerd
accepts is accepted here: a key matches exactly or else case-insensitively, `null` means
"not given", unknown keys are ignored. Types are strict where Go is strict (no numbers as
strings, no floats for integers) and every error names the field: `HostConfig.Memory:
must be an integer`.
"""

from __future__ import annotations

from typing import Any

from estiba.errors import InvalidArgument

INT64 = (-(1 << 63), (1 << 63) - 1)
INT32 = (-(1 << 31), (1 << 31) - 1)
UINT16 = (0, (1 << 16) - 1)


class Fields:
    """One JSON object at `where` (e.g. "HostConfig"), read one typed field at a time."""

    def __init__(self, raw: Any, where: str) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise InvalidArgument(f"{where}: must be an object")
        self.raw = raw
        self.where = where
        self._folded: dict[str, Any] | None = None

    def path(self, key: str) -> str:
        return f"{self.where}.{key}"

    def get(self, key: str) -> Any:
        if key in self.raw:
            return self.raw[key]
        # encoding/json falls back to a case-insensitive match ("memory" for "Memory").
        if self._folded is None:
            self._folded = {}
            for name, value in self.raw.items():
                self._folded.setdefault(str(name).casefold(), value)
        return self._folded.get(key.casefold())

    def string(self, key: str, default: str = "") -> str:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise InvalidArgument(f"{self.path(key)}: must be a string")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.optional_bool(key)
        return default if value is None else value

    def optional_bool(self, key: str) -> bool | None:
        value = self.get(key)
        if value is not None and not isinstance(value, bool):
            raise InvalidArgument(f"{self.path(key)}: must be a boolean")
        return value

    def integer(self, key: str, default: int = 0, bounds: tuple[int, int] = INT64) -> int:
        value = self.optional_int(key, bounds)
        return default if value is None else value

    def optional_int(self, key: str, bounds: tuple[int, int] = INT64) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        return integer_value(value, self.path(key), bounds)

    def strings(self, key: str) -> tuple[str, ...]:
        """An array of strings; null or missing is empty."""
        value = self.get(key)
        if value is None:
            return ()
        return string_array(value, self.path(key))

    def optional_strings(self, key: str) -> tuple[str, ...] | None:
        """An array of strings where null (None) and [] (empty) differ, as for MaskedPaths."""
        value = self.get(key)
        return None if value is None else string_array(value, self.path(key))

    def strslice(self, key: str) -> tuple[str, ...] | None:
        """Docker's StrSlice: an array of strings, or one string meaning a one-item array.

        None when null or missing: for Entrypoint and Cmd, missing and [] differ."""
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return (value,)
        return string_array(value, self.path(key), "must be a string or an array of strings")

    def string_map(self, key: str) -> dict[str, str]:
        value = self.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise InvalidArgument(f"{self.path(key)}: must be an object of strings")
        for name, item in value.items():
            if not isinstance(item, str):
                raise InvalidArgument(f"{self.path(key)}.{name}: must be a string")
        return dict(value)

    def key_set(self, key: str) -> tuple[str, ...]:
        """An object used as a set ({"80/tcp": {}}): its keys, in order."""
        value = self.get(key)
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise InvalidArgument(f"{self.path(key)}: must be an object")
        for name, item in value.items():
            if item is not None and not isinstance(item, dict):
                raise InvalidArgument(f"{self.path(key)}.{name}: must be an empty object")
        return tuple(value)

    def child(self, key: str) -> Fields:
        return Fields(self.get(key), self.path(key))

    def objects(self, key: str) -> list[Fields]:
        """An array of objects, each as Fields named `where.Key[i]`."""
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise InvalidArgument(f"{self.path(key)}: must be an array")
        return [Fields(item, f"{self.path(key)}[{i}]") for i, item in enumerate(value)]


def integer_value(value: Any, where: str, bounds: tuple[int, int] = INT64) -> int:
    # bool is an int in Python and float 1.0 would pass int(); Go accepts neither.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{where}: must be an integer")
    low, high = bounds
    if not low <= value <= high:
        raise InvalidArgument(f"{where}: {value} is out of range ({low} to {high})")
    return value


def string_array(value: Any, where: str, message: str = "must be an array of strings") -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidArgument(f"{where}: {message}")
    return tuple(value)


def go_atoi(text: str) -> int | None:
    """strconv.Atoi: optional sign and ASCII digits only, within int64; else None.

    Python's int() would also take spaces, underscores and other scripts' digits."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    number = int(text)
    return number if INT64[0] <= number <= INT64[1] else None


def go_clean(path: str) -> str:
    """path.Clean for slash paths: the shortest equivalent ("//a/./b/../c/" -> "/a/c")."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."
