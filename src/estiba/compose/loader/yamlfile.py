"""Reading one compose file's YAML the way compose v2 (go-yaml v3, YAML 1.2) reads it.

PyYAML speaks YAML 1.1, where `restart: no` is False and `- 22:22` is the integer 1342;
compose files are YAML 1.2, where both are strings. The loader here resolves only the
1.2 core scalars, rejects duplicate keys, and keeps the merge tags `!reset` and
`!override` as `Reset` / `Override` markers for the merge step.
"""

from __future__ import annotations

import re

import yaml

from estiba.errors import InvalidArgument

__all__ = ["Override", "RESET", "Reset", "load_yaml", "strip_tags"]


class Reset:
    """`!reset`: drop the value inherited from earlier files (or the base service)."""

    _instance: "Reset | None" = None

    def __new__(cls) -> "Reset":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "RESET"


RESET = Reset()


class Override:
    """`!override`: replace the inherited value instead of merging with it."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Override({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Override) and other.value == self.value


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and compose's merge tags."""


# Start from no implicit resolvers and add the YAML 1.2 core schema's.
_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|[-+]?0[oO][0-7]+|[-+]?0[xX][0-9a-fA-F]+|[-+]?0[bB][01]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    # go-yaml v3 parses integers as Go's strconv.ParseInt(text, 0): 0x, 0o, 0b and a
    # leading 0 (octal) prefixes, so `mode: 0440` is 288 in compose as in a shell.
    text = loader.construct_scalar(node)
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    prefix = digits[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        return sign * int(digits[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
    if len(digits) > 1 and digits.startswith("0") and set(digits) <= set("01234567"):
        return sign * int(digits, 8)
    return sign * int(digits, 10)


def _construct_bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    return loader.construct_scalar(node).lower() == "true"


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).lower()
    if text.endswith("inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    return float(text)


def _reject_duplicate_keys(loader: _Loader, node: yaml.MappingNode) -> None:
    """compose v2 refuses a key given twice in one mapping (`<<` merges aside)."""
    seen: set = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = key_node.value
        if key in seen:
            line = key_node.start_mark.line + 1
            raise InvalidArgument(f"line {line}: mapping key {key!r} already defined")
        seen.add(key)


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None, None, f"expected a mapping node, but found {node.id}", node.start_mark
        )
    _reject_duplicate_keys(loader, node)
    loader.flatten_mapping(node)  # `<<` merged pairs first, so the node's own keys win
    result: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (dict, list)):
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be scalars", key_node.start_mark
            )
        key = key if isinstance(key, str) else str(key)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


def _construct_map_node(loader: _Loader, node: yaml.MappingNode):
    data: dict = {}
    yield data
    data.update(_mapping(loader, node))


def _construct_reset(loader: _Loader, node: yaml.Node) -> Reset:
    return RESET


def _construct_override(loader: _Loader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(_mapping(loader, node))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    # A tagged scalar: resolve its type as if it had no tag (quoted means string).
    if node.style:
        tag = "tag:yaml.org,2002:str"
    else:
        tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))
    plain = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
    return Override(loader.construct_object(plain, deep=True))


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map_node)
_Loader.add_constructor("!reset", _construct_reset)
_Loader.add_constructor("!override", _construct_override)


def load_yaml(text: str, source: str) -> dict:
    """The compose file `text` (named `source` in errors) as a mapping, tags kept as markers."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except InvalidArgument as exc:
        raise InvalidArgument(f"{source}: {exc.message}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidArgument(f"{source}:{where}: invalid YAML: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidArgument(f"{source}: top-level object must be a mapping")
    return data


def strip_tags(value: object) -> object:
    """`value` without merge markers: `!override` unwrapped, `!reset` keys dropped."""
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_tags(v) for v in value if not isinstance(v, Reset)]
    return value
