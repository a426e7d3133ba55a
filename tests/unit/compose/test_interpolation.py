"""Interpolation forms of the compose specification, and how they fail."""

from __future__ import annotations

import pytest

from estiba.compose.loader.interpolation import TemplateError, substitute
from estiba.errors import InvalidArgument

ENV = {"SET": "value", "EMPTY": "", "OTHER": "other"}


@pytest.mark.parametrize(
    "template, expected",
    [
        ("$SET", "value"),
        ("${SET}", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("$SET.txt", "value.txt"),
        ("${UNSET:-def}", "def"),
        ("${EMPTY:-def}", "def"),
        ("${EMPTY-def}", ""),
        ("${UNSET-def}", "def"),
        ("${SET:-def}", "value"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${SET:?boom}", "value"),
        ("${EMPTY?boom}", ""),
        ("${UNSET:-${OTHER}}", "other"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${UNSET:-a ${SET} b}", "a value b"),
        ("${SET:-${MISSING:?not evaluated}}", "value"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("cost: 5$$", "cost: 5$"),
        ("no variables", "no variables"),
        ("${UNSET:-}", ""),
    ],
)
def test_forms(template: str, expected: str) -> None:
    assert substitute(template, ENV) == expected


def test_unset_without_default_is_blank_and_reported() -> None:
    seen: list[str] = []
    assert substitute("a${NOPE}b$NOPE", ENV, seen.append) == "ab"
    assert seen == ["NOPE", "NOPE"]  # the loader reports each name once


@pytest.mark.parametrize(
    "template, message",
    [
        ("${UNSET:?you must set it}", "required variable UNSET is missing a value: you must set it"),
        ("${EMPTY:?empty is not enough}", "required variable EMPTY is missing a value: empty is not enough"),
        ("${UNSET?}", "required variable UNSET is missing a value"),
        ("${UNSET:?need ${SET}}", "required variable UNSET is missing a value: need value"),
    ],
)
def test_required_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        substitute(template, ENV)
    assert str(info.value) == message


@pytest.mark.parametrize("template", ["${SET", "$1", "cost $", "${}", "${SET!x}", "${9X}"])
def test_malformed_templates(template: str) -> None:
    with pytest.raises(TemplateError) as info:
        substitute(template, ENV)
    assert "invalid interpolation format" in str(info.value)


def test_interpolation_in_file_names_file_and_path(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web:
            image: "busybox:${TAG:?set TAG to the image tag}"
    """)
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert str(info.value) == (
        "compose.yaml: services.web.image: required variable TAG is missing a value: set TAG to the image tag"
    )


def test_values_interpolated_keys_not(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web:
            image: busybox
            labels:
              $KEY: $VALUE
            environment:
              LITERAL: "$$HOME"
    """)
    project = proj.load("compose.yaml", environ={"KEY": "k", "VALUE": "v"})
    web = project.services["web"]
    assert web["labels"] == {"$KEY": "v"}
    assert web["environment"] == {"LITERAL": "$HOME"}


def test_each_unset_variable_warned_once(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web:
            image: "busybox${SUFFIX}"
            command: ["echo", "$SUFFIX", "$OTHER"]
    """)
    project = proj.load("compose.yaml", environ={})
    assert project.warnings == [
        'The "SUFFIX" variable is not set. Defaulting to a blank string.',
        'The "OTHER" variable is not set. Defaulting to a blank string.',
    ]
    assert project.services["web"]["image"] == "busybox"


def test_interpolate_false_keeps_templates(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web:
            image: "busybox:${TAG}"
    """)
    project = proj.load("compose.yaml", environ={"TAG": "x"}, interpolate=False)
    assert project.services["web"]["image"] == "busybox:${TAG}"


def test_typed_fields_from_variables(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web:
            image: busybox
            scale: ${N}
            tty: ${TTY}
            mem_limit: ${MEM}
            ports: ["${PORT}:80"]
    """)
    web = proj.load("compose.yaml", environ={"N": "3", "TTY": "true", "MEM": "1g", "PORT": "8080"}).services["web"]
    assert (web["scale"], web["tty"], web["mem_limit"]) == (3, True, 1 << 30)
    assert web["ports"][0]["published"] == "8080"
