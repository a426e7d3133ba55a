"""`.env` syntax as compose v2 reads it, and how .env feeds the project."""

from __future__ import annotations

import pytest

from estiba.compose.loader.envfile import parse_env_text
from estiba.errors import InvalidArgument, NotFound


def parse(text: str, env: dict | None = None) -> dict:
    return parse_env_text(text, ".env", env or {})


def test_comments_blank_lines_and_export() -> None:
    assert parse("# comment\n\nexport A=1\n  B=2  \n") == {"A": "1", "B": "2"}


def test_unquoted_values() -> None:
    assert parse("A=two words  # note\nB=x#y\nC=\nD= spaced\n") == {
        "A": "two words", "B": "x#y", "C": "", "D": "spaced",
    }


def test_single_quotes_are_literal() -> None:
    assert parse("A=1\nB='$A \\n # not a comment'\n") == {"A": "1", "B": "$A \\n # not a comment"}


def test_double_quotes_with_escapes_and_variables() -> None:
    got = parse('A=1\nB="x\\ny\\t\\"q\\" \\$A ${A}" # comment\n')
    assert got["B"] == 'x\ny\t"q" $A 1'


def test_multiline_quoted_value() -> None:
    assert parse('A="line1\nline2"\nB=3\n') == {"A": "line1\nline2", "B": "3"}
    assert parse("A='l1\nl2'\n") == {"A": "l1\nl2"}


def test_interpolation_of_earlier_variables_and_environ() -> None:
    got = parse("A=base\nB=${A}/sub\nC=${FROM_ENV}\nD=${NOPE:-dflt}\n", {"FROM_ENV": "e"})
    assert got == {"A": "base", "B": "base/sub", "C": "e", "D": "dflt"}


def test_key_without_value_comes_from_environ() -> None:
    assert parse("A\nB\n", {"A": "from-env"}) == {"A": "from-env"}


@pytest.mark.parametrize("text", ["1A=x\n", "A B=x\n", 'A="open\n', "A='x' trailing\n"])
def test_invalid_lines_name_file_and_line(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse("OK=1\n" + text)
    assert str(info.value).startswith(".env:2:")


def test_dotenv_feeds_interpolation_environ_wins(proj) -> None:
    proj.write(".env", "TAG=from-dotenv\nCMD=from-dotenv\n")
    proj.write("compose.yaml", """
        services:
          web:
            image: "busybox:${TAG}"
            command: ["${CMD}"]
            environment: [TAG]
    """)
    project = proj.load("compose.yaml", environ={"CMD": "from-environ"})
    web = project.services["web"]
    assert web["image"] == "busybox:from-dotenv"
    assert web["command"] == ["from-environ"]
    assert web["environment"] == {"TAG": "from-dotenv"}  # a bare key reads .env too
    assert project.environment["TAG"] == "from-dotenv"


def test_env_files_argument_replaces_dotenv(proj) -> None:
    proj.write(".env", "TAG=dotenv\n")
    proj.write("other.env", "TAG=other\n")
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox:${TAG}\n")
    project = proj.load("compose.yaml", env_files=[str(proj.root / "other.env")])
    assert project.services["web"]["image"] == "busybox:other"


def test_service_env_file_merged_under_environment(proj) -> None:
    proj.write("a.env", "A=1\nB=from-a\n")
    proj.write("conf/b.env", "B=from-b\nC=${A}-c\n")
    proj.write("compose.yaml", """
        services:
          web:
            image: busybox
            env_file: [a.env, conf/b.env, {path: missing.env, required: false}]
            environment:
              C: from-environment
    """)
    web = proj.load("compose.yaml").services["web"]
    assert web["environment"] == {"A": "1", "B": "from-b", "C": "from-environment"}
    assert web["env_file"] == [str(proj.root / "a.env"), str(proj.root / "conf/b.env")]


def test_missing_required_env_file(proj) -> None:
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox\n    env_file: nope.env\n")
    with pytest.raises(NotFound) as info:
        proj.load("compose.yaml")
    assert "nope.env not found" in str(info.value)


def test_earlier_file_variable_wins_over_environ_inside_the_file() -> None:
    assert parse("A=file\nB=${A}\n", {"A": "environ"}) == {"A": "file", "B": "file"}


def test_environ_does_not_override_service_env_file(proj) -> None:
    proj.write("web.env", "HOME=/from/env_file\n")
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox\n    env_file: web.env\n")
    web = proj.load("compose.yaml", environ={"HOME": "/root"}).services["web"]
    assert web["environment"] == {"HOME": "/from/env_file"}


def test_relative_env_files_argument_is_relative_to_project_directory(proj, monkeypatch, tmp_path) -> None:
    proj.write("conf/vars.env", "TAG=conf\n")
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox:${TAG}\n")
    monkeypatch.chdir(tmp_path)
    project = proj.load("compose.yaml", env_files=["conf/vars.env"])
    assert project.services["web"]["image"] == "busybox:conf"
