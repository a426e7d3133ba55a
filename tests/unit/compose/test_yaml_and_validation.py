"""Reading YAML as compose v2 does (YAML 1.2) and the schema errors users see."""

from __future__ import annotations

import pytest

from estiba.compose.loader.yamlfile import RESET, Override, load_yaml
from estiba.errors import InvalidArgument


def test_yaml_1_2_scalars() -> None:
    data = load_yaml("a: no\nb: 22:22\nc: on\nd: true\ne: 0x10\nf: 1.5\ng: ~\nh: 010\n", "f")  # 010: octal, as go-yaml reads it
    assert data == {"a": "no", "b": "22:22", "c": "on", "d": True, "e": 16, "f": 1.5, "g": None, "h": 8}


def test_anchors_and_merge_keys() -> None:
    data = load_yaml("x-base: &b {image: busybox, tty: true}\nweb:\n  <<: *b\n  tty: false\n", "f")
    assert data["web"] == {"image": "busybox", "tty": False}


def test_merge_tags_are_kept() -> None:
    data = load_yaml("a: !reset []\nb: !override [1]\nc: !reset null\n", "f")
    assert data == {"a": RESET, "b": Override([1]), "c": RESET}


@pytest.mark.parametrize(
    "text, message",
    [
        ("a: 1\na: 2\n", "compose.yaml: line 2: mapping key 'a' already defined"),
        ("a: [1\n", "compose.yaml: line 2 column 1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("- a\n", "compose.yaml: top-level object must be a mapping"),
    ],
)
def test_yaml_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        load_yaml(text, "compose.yaml")
    assert str(info.value) == message


@pytest.mark.parametrize(
    "body, message",
    [
        ("services:\n  web:\n    imagee: busybox\n", "services.web Additional property imagee is not allowed"),
        ("services:\n  web:\n    image: busybox\n    ports: '80:80'\n", "services.web.ports must be a list"),
        ("servics: {}\n", "(root) Additional property servics is not allowed"),
        ("services:\n  web:\n    build: 5\n", "services.web.build must be a mapping or a string"),
        (
            "services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: sometimes}\n",
            "services.web.depends_on.db.condition must be one of 'service_started', 'service_healthy', "
            "'service_completed_successfully'",
        ),
        ("services:\n  web:\n    image: x\n    ports: [{target: 80, colour: red}]\n",
         "services.web.ports[0] Additional property colour is not allowed"),
        ("services:\n  web:\n    image: [busybox]\n", "services.web.image must be a string"),
        ("services:\n  web:\n    image: x\n    volumes: [{source: /a, target: /b}]\n",
         "services.web.volumes[0] 'type' is a required property"),
    ],
)
def test_schema_errors_name_file_service_and_key(proj, body: str, message: str) -> None:
    proj.write("compose.yaml", body)
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert str(info.value) == f"compose.yaml: {message}"
    assert "\n" not in str(info.value)


def test_validation_runs_after_interpolation(proj) -> None:
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox\n    stop_grace_period: $PERIOD\n")
    assert proj.load("compose.yaml", environ={"PERIOD": "5s"}).services["web"]["stop_grace_period"] == "5s"


def test_error_in_second_file_names_it(proj) -> None:
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox\n")
    proj.write("sub/override.yaml", "services:\n  web:\n    priviledged: true\n")
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml", "sub/override.yaml")
    assert str(info.value) == "sub/override.yaml: services.web Additional property priviledged is not allowed"
