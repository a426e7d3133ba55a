"""estiba-runtime's command line without privileges: usage errors, one-line errors and
their exit codes, `features` against the OCI features schema, and `spec`.

Each test runs the real console script with a private --root in a temporary directory;
nothing here needs root or touches a cgroup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from estiba.runtime.specgen import default_spec

REPO = Path(__file__).resolve().parents[3]
SCHEMA_DIR = Path(
    os.environ.get("ESTIBA_OCI_SCHEMA_DIR", REPO.parent / "shared/reference/oci-runtime-spec-schema")
)
SCRIPT = REPO / ".venv" / "bin" / "estiba-runtime"
ARGV = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "estiba.runtime.cli"]
HEADER = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]


@pytest.fixture
def cli(tmp_path):
    """Run `estiba-runtime --root <tmp>/root <args...>`; returns the CompletedProcess."""
    root = tmp_path / "root"

    def run(*args: str | os.PathLike, root_dir: Path | None = root) -> subprocess.CompletedProcess[str]:
        prefix = ["--root", str(root_dir)] if root_dir is not None else []
        return subprocess.run([*ARGV, *prefix, *map(str, args)], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=30)

    run.root = root
    return run


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("estiba-runtime: "), lines[0]
    return lines[0].removeprefix("estiba-runtime: ")


# --- usage errors: argparse's usage text and exit status 2 --------------------------------


def test_no_command_prints_help_and_exits_2(cli) -> None:
    result = cli()

    assert result.returncode == 2
    assert "usage: estiba-runtime" in result.stdout
    for command in ("create", "start", "state", "kill", "delete", "run", "exec", "list", "features"):
        assert command in result.stdout


def test_unknown_command(cli) -> None:
    result = cli("frobnicate")

    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["create", "run", "start", "state", "kill", "delete", "pause",
                                     "resume", "exec", "ps", "events"])
def test_missing_container_id(cli, command) -> None:
    result = cli(command)

    assert result.returncode == 2
    assert f"usage: estiba-runtime {command}" in result.stderr
    assert "required" in result.stderr and "id" in result.stderr


def test_unknown_option(cli) -> None:
    result = cli("create", "--no-such-flag", "c1")

    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in result.stderr


def test_bad_list_format(cli) -> None:
    result = cli("list", "--format", "yaml")

    assert result.returncode == 2
    assert "invalid choice: 'yaml'" in result.stderr


def test_help_of_a_command(cli) -> None:
    result = cli("create", "--help")

    assert result.returncode == 0
    for option in ("--bundle", "--console-socket", "--pid-file", "--no-pivot", "--preserve-fds"):
        assert option in result.stdout


def test_version(cli) -> None:
    result = cli("--version")

    assert result.returncode == 0
    assert result.stdout.startswith("estiba-runtime version ")
    assert "spec: 1.0.2" in result.stdout


def test_systemd_cgroup_is_refused_in_one_line(cli) -> None:
    result = cli("--systemd-cgroup", "state", "c1")

    assert result.returncode == 1
    assert "--systemd-cgroup is not supported" in one_line(result)


# --- one-line errors: exit status 1 ---------------------------------------------------------


@pytest.mark.parametrize("args", [["state", "ghost"], ["start", "ghost"], ["kill", "ghost", "KILL"],
                                  ["delete", "ghost"], ["pause", "ghost"], ["resume", "ghost"],
                                  ["ps", "ghost"], ["events", "--stats", "ghost"]])
def test_missing_container(cli, args) -> None:
    result = cli(*args)

    assert result.returncode == 1
    assert one_line(result) == 'container "ghost" does not exist'
    assert result.stdout == ""


def test_exec_on_a_missing_container_exits_255_as_runc(cli) -> None:
    result = cli("exec", "ghost", "true")

    assert result.returncode == 255
    assert one_line(result) == 'container "ghost" does not exist'


def test_delete_force_of_a_missing_container_succeeds(cli) -> None:
    result = cli("delete", "--force", "ghost")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("bad_id", ["a/b", "..", "sp ace", "", "semi;colon"])
def test_invalid_container_id(cli, bad_id) -> None:
    result = cli("state", bad_id)

    assert result.returncode == 1
    assert one_line(result).startswith(f'invalid container id "{bad_id}"')


def test_create_with_an_invalid_id_makes_nothing(cli, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()

    result = cli("create", "--bundle", bundle, "a/b")

    assert result.returncode == 1
    assert "invalid container id" in one_line(result)
    assert not cli.root.exists() or os.listdir(cli.root) == []


def test_create_from_a_missing_bundle(cli, tmp_path) -> None:
    result = cli("create", "--bundle", tmp_path / "nowhere", "c1")

    assert result.returncode == 1
    assert "does not exist" in one_line(result)
    assert not cli.root.exists() or os.listdir(cli.root) == []


def test_create_from_a_bundle_without_config(cli, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()

    result = cli("create", "--bundle", bundle, "c1")

    assert result.returncode == 1
    assert one_line(result) == f"bundle {bundle}: no config.json: run `estiba-runtime spec` there"


def test_create_from_invalid_json(cli, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text('{"ociVersion": ')

    result = cli("create", "--bundle", bundle, "c1")

    assert result.returncode == 1
    assert one_line(result).startswith(f"{bundle}/config.json: invalid JSON: ")
    assert not cli.root.exists() or os.listdir(cli.root) == []


def test_create_with_a_wrongly_typed_field(cli, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    spec = default_spec(args=["/bin/true"])
    spec["process"]["args"] = "not-a-list"
    (bundle / "config.json").write_text(json.dumps(spec))

    result = cli("create", "--bundle", bundle, "c1")

    assert result.returncode == 1
    assert one_line(result).startswith("config.json: process.args")


def test_events_with_a_bad_interval(cli) -> None:
    result = cli("events", "--interval", "soon", "c1")

    assert result.returncode == 1
    assert one_line(result) == '--interval "soon": use a duration like 5s or 500ms'


def test_error_also_goes_to_the_log_file_as_json(cli, tmp_path) -> None:
    log = tmp_path / "runtime.log"

    result = cli("--log", log, "--log-format", "json", "state", "ghost")

    assert result.returncode == 1
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(entries) == 1
    assert entries[0]["level"] == "error"
    assert entries[0]["msg"] == 'container "ghost" does not exist'
    assert entries[0]["time"].endswith("Z")


def test_error_in_the_text_log(cli, tmp_path) -> None:
    log = tmp_path / "runtime.log"

    cli("--log", log, "state", "ghost")

    [line] = log.read_text().splitlines()
    assert line.startswith('time="') and " level=error msg=" in line and "ghost" in line


# --- list on an empty root --------------------------------------------------------------


def test_list_of_a_root_that_does_not_exist(cli) -> None:
    table = cli("list")
    as_json = cli("list", "--format", "json")
    quiet = cli("list", "-q")

    assert table.returncode == as_json.returncode == quiet.returncode == 0
    assert [line.split() for line in table.stdout.splitlines()] == [HEADER]
    assert json.loads(as_json.stdout) == []
    assert quiet.stdout == ""


# --- features -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def features_validator():
    """A draft-4 validator for features-schema.json, its $refs resolved to sibling files."""
    if not (SCHEMA_DIR / "features-schema.json").exists():
        pytest.skip(f"OCI runtime schemas not found in {SCHEMA_DIR} (set ESTIBA_OCI_SCHEMA_DIR)")
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    registry = Registry()
    for path in SCHEMA_DIR.glob("*.json"):
        registry = registry.with_resource(
            path.resolve().as_uri(), DRAFT4.create_resource(json.loads(path.read_text()))
        )
    root = {"$ref": (SCHEMA_DIR / "features-schema.json").resolve().as_uri()}
    return jsonschema.Draft4Validator(root, registry=registry)


def test_features_is_valid_per_the_schema(cli, features_validator) -> None:
    result = cli("features", root_dir=None)

    assert result.returncode == 0, result.stderr
    features = json.loads(result.stdout)
    features_validator.validate(features)
    assert features["hooks"] == ["prestart", "createRuntime", "createContainer", "startContainer",
                                 "poststart", "poststop"]
    assert {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"} <= set(features["linux"]["namespaces"])
    assert {"bind", "rbind", "ro", "nosuid", "rprivate"} <= set(features["mountOptions"])
    assert "CAP_SYS_ADMIN" in features["linux"]["capabilities"]
    assert features["linux"]["cgroup"]["systemd"] is False


def test_features_schema_catches_a_wrong_document(features_validator) -> None:
    """The validator is not vacuous: a namespace type the spec does not know fails it."""
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        features_validator.validate({"ociVersionMin": "1.0.0", "ociVersionMax": "1.0.2",
                                     "linux": {"namespaces": ["nonsense"]}})


# --- spec ---------------------------------------------------------------------------------


def test_spec_writes_runc_default_config(cli, tmp_path) -> None:
    result = cli("spec", "--bundle", tmp_path)

    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads((tmp_path / "config.json").read_text()) == default_spec(terminal=True)


def test_spec_with_args_has_no_terminal(cli, tmp_path) -> None:
    cli("spec", "--bundle", tmp_path, "--args", "/bin/echo", "hi")

    process = json.loads((tmp_path / "config.json").read_text())["process"]
    assert (process["args"], process["terminal"]) == (["/bin/echo", "hi"], False)


def test_spec_rootless(cli, tmp_path) -> None:
    cli("spec", "--bundle", tmp_path, "--rootless")

    spec = json.loads((tmp_path / "config.json").read_text())
    assert {"type": "user"} in spec["linux"]["namespaces"]
    assert spec["linux"]["uidMappings"][0]["containerID"] == 0


def test_spec_refuses_to_overwrite(cli, tmp_path) -> None:
    (tmp_path / "config.json").write_text("{}")

    result = cli("spec", "--bundle", tmp_path)

    assert result.returncode == 1
    assert one_line(result) == f"{tmp_path / 'config.json'} already exists: remove it first"
    assert (tmp_path / "config.json").read_text() == "{}"
