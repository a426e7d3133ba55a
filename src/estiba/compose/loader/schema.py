"""Validation of one compose file against the compose specification's JSON schema.

The first error becomes one short line that names the file, the path in it and what is
wrong: `compose.yaml: services.web.ports must be a list`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

import jsonschema

from estiba.errors import InvalidArgument

__all__ = ["validate"]

_TYPE_NAMES = {
    "array": "a list",
    "object": "a mapping",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft7Validator:
    text = resources.files("estiba.compose").joinpath("compose-spec.schema.json").read_text()
    schema = json.loads(text)
    return jsonschema.Draft7Validator(schema)


def _path(error: jsonschema.ValidationError) -> str:
    parts: list[str] = []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def _type_list(expected: object) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)  # type: ignore[arg-type]
    return " or ".join(_TYPE_NAMES.get(str(n), str(n)) for n in names)


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf, the branch error that got furthest into the value."""
    while error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is None or len(best.absolute_path) <= len(error.absolute_path):
            break
        error = best
    return error


def describe(error: jsonschema.ValidationError) -> str:
    error = _deepest(error)
    path = _path(error)
    where = path or "(root)"
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        patterns = error.schema.get("patternProperties", {})
        extra = [
            key
            for key in error.instance
            if key not in allowed and not any(re.search(p, key) for p in patterns)
        ]
        names = ", ".join(sorted(extra))
        plural = "properties" if len(extra) > 1 else "property"
        verb = "are" if len(extra) > 1 else "is"
        return f"{where} Additional {plural} {names} {verb} not allowed"
    if error.validator == "type":
        return f"{where} must be {_type_list(error.validator_value)}"
    if error.validator in ("oneOf", "anyOf"):
        types = sorted(
            {
                sub.validator_value
                for sub in error.context or []
                if sub.validator == "type" and isinstance(sub.validator_value, str)
            }
        )
        if types:
            return f"{where} must be {_type_list(types)}"
        return f"{where} is invalid: {error.message}"
    if error.validator == "enum":
        choices = ", ".join(repr(c) for c in error.validator_value)
        return f"{where} must be one of {choices}"
    if error.validator == "required":
        return f"{where} {error.message}"
    if error.validator == "uniqueItems":
        return f"{where} holds duplicate items"
    if error.validator == "pattern":
        return f"{where} {error.instance!r} does not match {error.validator_value!r}"
    return f"{where} {error.message}"


def validate(config: dict, source: str) -> None:
    """Raises InvalidArgument for the most relevant schema violation in `config`."""
    errors = list(_validator().iter_errors(config))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    raise InvalidArgument(f"{source}: {describe(error)}")
