"""File discovery, the project directory and the project name."""

from __future__ import annotations

import io
import os

import pytest

from estiba.compose.loader import load_project
from estiba.errors import InvalidArgument

SIMPLE = "services:\n  web:\n    image: busybox\n"


def test_discovers_compose_yaml_and_override(proj) -> None:
    proj.write("compose.yaml", SIMPLE)
    proj.write("compose.override.yaml", "services:\n  web:\n    tty: true\n")
    project = load_project(environ={})
    assert project.config_files == [str(proj.root / "compose.yaml"), str(proj.root / "compose.override.yaml")]
    assert project.services["web"]["tty"] is True


@pytest.mark.parametrize("name", ["compose.yml", "docker-compose.yml", "docker-compose.yaml"])
def test_discovers_other_default_names(proj, name: str) -> None:
    proj.write(name, SIMPLE)
    assert load_project(environ={}).config_files == [str(proj.root / name)]


def test_prefers_compose_yaml_and_warns(proj) -> None:
    proj.write("compose.yaml", SIMPLE)
    proj.write("docker-compose.yml", SIMPLE)
    project = load_project(environ={})
    assert project.config_files == [str(proj.root / "compose.yaml")]
    assert project.warnings[0].startswith("Found multiple config files with supported names")


def test_looks_in_parent_directories(proj, monkeypatch) -> None:
    proj.write("docker-compose.yml", SIMPLE)
    proj.write("docker-compose.override.yml", "services:\n  web:\n    init: true\n")
    deep = proj.root / "src" / "pkg"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    project = load_project(environ={})
    assert project.working_dir == str(proj.root)
    assert project.name == "myapp"
    assert len(project.config_files) == 2


def test_no_file_found(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidArgument) as info:
        load_project(environ={})
    assert str(info.value) == "no configuration file provided: not found"


def test_compose_file_variable(proj) -> None:
    proj.write("a.yaml", SIMPLE)
    proj.write("b.yaml", "services:\n  web:\n    tty: true\n")
    project = load_project(environ={"COMPOSE_FILE": "a.yaml;b.yaml", "COMPOSE_PATH_SEPARATOR": ";"})
    assert project.config_files == [str(proj.root / "a.yaml"), str(proj.root / "b.yaml")]
    assert project.services["web"]["tty"] is True
    project = load_project(environ={"COMPOSE_FILE": "a.yaml:b.yaml"})
    assert len(project.config_files) == 2


def test_stdin(proj, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("services:\n  web:\n    image: busybox\n    build: ./ctx\n"))
    project = load_project(["-"], environ={})
    assert project.config_files == ["-"]
    assert project.working_dir == str(proj.root)
    assert project.services["web"]["build"]["context"] == str(proj.root / "ctx")


def test_project_directory_option(proj, tmp_path) -> None:
    proj.write("compose.yaml", SIMPLE + "    build: .\n")
    other = tmp_path / "Other Dir"
    other.mkdir()
    project = load_project([str(proj.root / "compose.yaml")], project_directory=str(other), environ={})
    assert project.working_dir == str(other)
    assert project.name == "otherdir"
    assert project.services["web"]["build"]["context"] == str(other)


@pytest.mark.parametrize(
    "kwargs, environ, files, expected",
    [
        ({"project_name": "cli"}, {"COMPOSE_PROJECT_NAME": "env"}, "name: file\n", "cli"),
        ({}, {"COMPOSE_PROJECT_NAME": "env"}, "name: file\n", "env"),
        ({}, {}, "name: file\n", "file"),
        ({}, {"N": "from-var"}, "name: ${N}\n", "from-var"),
        ({}, {}, "", "myapp"),
    ],
)
def test_project_name_precedence(proj, kwargs, environ, files, expected) -> None:
    proj.write("compose.yaml", files + SIMPLE)
    assert proj.load("compose.yaml", environ=environ, **kwargs).name == expected


def test_project_name_from_dotenv(proj) -> None:
    proj.write(".env", "COMPOSE_PROJECT_NAME=dotenv_name\n")
    proj.write("compose.yaml", SIMPLE)
    project = proj.load("compose.yaml", environ={})
    assert project.name == "dotenv_name"
    assert project.config["networks"]["default"]["name"] == "dotenv_name_default"


def test_directory_name_is_normalised(tmp_path, monkeypatch) -> None:
    root = tmp_path / "_My.App Dir"
    root.mkdir()
    (root / "compose.yaml").write_text(SIMPLE)
    monkeypatch.chdir(root)
    assert load_project(environ={}).name == "myappdir"


@pytest.mark.parametrize("bad", ["My App", "-lead", "UPPER", "dots.not.allowed"])
def test_explicit_invalid_name_is_an_error(proj, bad: str) -> None:
    proj.write("compose.yaml", SIMPLE)
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml", project_name=bad)
    assert str(info.value).startswith(f"invalid project name {bad!r} (-p/--project-name): use only lowercase")


def test_invalid_top_level_name_is_an_error(proj) -> None:
    proj.write("compose.yaml", "name: Bad Name\n" + SIMPLE)
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert "(the top-level name: key)" in str(info.value)


def test_project_name_available_to_interpolation(proj) -> None:
    proj.write("compose.yaml", SIMPLE + "    container_name: ${COMPOSE_PROJECT_NAME}-web\n")
    assert proj.load("compose.yaml", project_name="demo").services["web"]["container_name"] == "demo-web"


def test_missing_file_is_an_error(proj) -> None:
    with pytest.raises(InvalidArgument) as info:
        proj.load("nope.yaml")
    assert str(info.value) == "nope.yaml: no such file: check the -f path"


def test_config_files_are_absolute(proj) -> None:
    proj.write("compose.yaml", SIMPLE)
    project = load_project(["compose.yaml"], environ={})
    assert project.config_files == [os.path.join(str(proj.root), "compose.yaml")]


def test_compose_file_from_dotenv(proj) -> None:
    proj.write("base.yaml", SIMPLE)
    proj.write(".env", "COMPOSE_FILE=base.yaml\n")
    assert load_project(environ={}).config_files == [str(proj.root / "base.yaml")]


def test_environ_defaults_to_os_environ(proj, monkeypatch) -> None:
    monkeypatch.setenv("ESTIBA_TEST_TAG", "from-os")
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox:${ESTIBA_TEST_TAG}\n")
    assert load_project(["compose.yaml"]).services["web"]["image"] == "busybox:from-os"
