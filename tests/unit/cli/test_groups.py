"""The management commands (`image`, `container`, `system`) and the commands behind them:
dispatch through the lazy tables, and docker's output from answers of a recording client."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from typing import Any

import pytest

from estiba.cli.base import CommandParser, Context, UsageError
from estiba.cli.commands import ALIASES, COMMANDS, GROUPS
from estiba.cli.main import exit_code_for, main, resolve

BUSYBOX = "sha256:3854f9450b2be50168eec145c37becb1473b2de37afd6c8935d315567544ca83"
NOW = 1_800_000_000.0


class RecordingClient:
    """Answers by (method, path); remembers every request."""

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.answers = answers or {}
        self.requests: list[tuple[str, str, dict[str, Any], Any]] = []

    def call(self, method: str, path: str, params: dict | None = None, body: Any = None) -> Any:
        self.requests.append((method, path, dict(params or {}), body))
        return self.answers.get((method, path))

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.call("POST", path, params, body)

    def open(self, method: str, path: str, params=None, body=None, headers=None) -> Any:
        data = body.read() if hasattr(body, "read") else body
        self.requests.append((method, path, dict(params or {}), data))
        return _Response(self.answers.get((method, path), b""))


class _Response:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read1(self, size: int) -> bytes:
        return self._data.read(size)

    def close(self) -> None:
        pass


def run(argv: list[str], client: RecordingClient) -> tuple[int, str]:
    """The command as main runs it, with `client` in place of the HTTP one."""
    command, info, arguments = resolve(argv)
    assert info is not None
    module = importlib.import_module(info.module)
    parser = CommandParser(command, info.usage, info.summary, getattr(module, "SHORT_HELP", True))
    module.configure(parser)
    out = io.StringIO()
    ctx = Context("unix:///nowhere.sock", stdout=out, stderr=io.StringIO())
    ctx._client = client
    code = module.execute(ctx, parser.parse_args(arguments))
    return code, out.getvalue()


# --- dispatch -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "command", "module"),
    [
        (["image", "ls", "-q"], "image ls", "images"),
        (["image", "list"], "image ls", "images"),
        (["image", "rm", "x"], "image rm", "rmi"),
        (["image", "remove", "x"], "image rm", "rmi"),
        (["image", "inspect", "x"], "image inspect", "image_inspect"),
        (["image", "bootstrap", "busybox"], "image bootstrap", "bootstrap"),
        (["image", "import", "-"], "image import", "import_image"),
        (["import", "-"], "import", "import_image"),
        (["history", "x"], "history", "history"),
        (["container", "ls"], "container ls", "ps"),
        (["container", "ps"], "container ls", "ps"),
        (["container", "run", "busybox"], "container run", "run"),
        (["container", "prune"], "container prune", "container_prune"),
        (["system", "df"], "system df", "system_df"),
        (["system", "info"], "system info", "info"),
        (["system", "events"], "system events", "events"),
    ],
)
def test_groups_dispatch_to_the_commands_modules(argv, command, module):
    name, info, arguments = resolve(argv)
    assert (name, info.module) == (command, f"estiba.cli.commands.{module}")
    assert arguments == argv[2:] if argv[0] in GROUPS else argv[1:]


def test_every_table_entry_names_a_command_module():
    for table in [COMMANDS, *GROUPS.values()]:
        for name, info in table.items():
            if name in GROUPS:
                continue
            module = importlib.import_module(info.module)
            assert callable(module.configure) and callable(module.execute), name
    for group, aliases in ALIASES.items():
        assert set(aliases.values()) <= set(GROUPS[group])


def test_container_group_has_every_container_command():
    assert set(GROUPS["container"]) >= {
        "ls", "run", "create", "start", "stop", "restart", "kill", "rm", "logs", "exec",
        "attach", "inspect", "wait", "top", "pause", "unpause", "rename", "update", "stats",
        "diff", "export", "prune",
    }  # fmt: skip
    assert set(GROUPS["image"]) == {
        "bootstrap", "ls", "inspect", "history", "rm", "tag", "save", "load", "import", "prune",
        "pull", "push", "build",
    }  # fmt: skip
    assert set(GROUPS["system"]) == {"df", "prune", "info", "events"}


def test_a_group_alone_or_with_help_prints_its_commands(capsys):
    assert main(["image"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:  estiba image COMMAND\n\nManage images\n\nCommands:\n")
    assert "\n  history     Show the history of an image\n" in out
    assert out.endswith("Run 'estiba image COMMAND --help' for more information on a command.\n")
    assert main(["system", "--help"]) == 0
    assert "\n  df          Show Estiba disk usage\n" in capsys.readouterr().out


def test_an_unknown_subcommand_exits_1_as_docker():
    err = io.StringIO()
    assert main(["image", "bogus"], stderr=err) == 1
    assert err.getvalue() == (
        "estiba: unknown command: estiba image bogus\n\n"
        "Usage:  estiba image COMMAND\n\n"
        "Run 'estiba image --help' for more information\n"
    )


def test_a_flag_before_the_subcommand_is_a_usage_error():
    err = io.StringIO()
    assert main(["container", "-q"], stderr=err) == 125
    assert err.getvalue() == "estiba container: unknown flag: -q\nSee 'estiba container --help'.\n"


def test_a_subcommands_usage_errors_name_it():
    err = io.StringIO()
    assert main(["image", "ls", "--bogus"], stderr=err) == 125
    assert err.getvalue().startswith("estiba image ls: unrecognized arguments: --bogus\n")


def test_container_run_and_create_exit_as_run_does():
    from estiba.cli.client import daemon_error

    assert exit_code_for(daemon_error(404, "No such image: x"), "container run") == 125
    assert exit_code_for(daemon_error(404, "No such image: x"), "container create") == 125
    assert exit_code_for(daemon_error(404, "No such image: x"), "image rm") == 1


def test_help_lists_management_commands_apart(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    management, _, commands = out.partition("\nCommands:")
    assert "Management Commands:" in management
    for name in ("image", "container", "system"):
        assert f"\n  {name} " in management
    for name in ("history", "import", "run"):
        assert f"\n  {name} " in commands


_IMPORTS_PROBE = """
import json, sys
from estiba.cli.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'rich', 'asyncio')
               or m.startswith('estiba.api') or m.startswith('estiba.engine'))
print(json.dumps({"code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize("argv", [["image"], ["container", "--help"], ["system"]])
def test_group_help_imports_nothing_heavy(argv):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS_PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env={"ESTIBA_HOST": "unix:///nonexistent.sock", "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}


# --- history --------------------------------------------------------------------------

HISTORY = [
    {"Id": BUSYBOX, "Created": 1778186025, "CreatedBy": 'CMD ["sh"]', "Tags": ["busybox:latest"],
     "Size": 0, "Comment": ""},
    {"Id": "<missing>", "Created": 1778186025,
     "CreatedBy": "estiba image bootstrap busybox (from /bin/busybox)", "Tags": None,
     "Size": 2232320, "Comment": "made\there"},
]  # fmt: skip


@pytest.fixture
def utc(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_history_rows_read_as_dockers(utc):
    from estiba.cli.commands.history import history_row

    row = history_row(HISTORY[1], human=True, truncate=True, now=1778186025 + 3600 * 24 * 200)
    assert row == {
        "ID": "<missing>",
        "CreatedSince": "6 months ago",
        "CreatedAt": "2026-05-07T20:33:45Z",
        "CreatedBy": "estiba image bootstrap busybox (from /bin/bu…",
        "Size": "2.23MB",
        "Comment": "made\there",
    }
    plain = history_row(HISTORY[0], human=False, truncate=False, now=NOW)
    assert (plain["ID"], plain["CreatedSince"], plain["Size"]) == (
        BUSYBOX,
        "2026-05-07T20:33:45Z",
        "0",
    )
    assert history_row({"Id": "x", "Created": 0}, human=True, truncate=True, now=NOW)[
        "CreatedSince"
    ] == ""


def test_history_table_quiet_and_json(utc):
    client = RecordingClient({("GET", "/images/busybox/history"): HISTORY})
    code, out = run(["history", "-H=false", "busybox"], client)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("IMAGE          CREATED AT             CREATED BY")
    assert lines[1].startswith("3854f9450b2b   2026-05-07T20:33:45Z   CMD [\"sh\"]")
    assert client.requests[0][:2] == ("GET", "/images/busybox/history")
    assert run(["image", "history", "-q", "--no-trunc", "busybox"], client)[1] == (
        f"{BUSYBOX}\n<missing>\n"
    )
    _, out = run(["history", "--format", "json", "busybox"], client)
    first = json.loads(out.splitlines()[0])
    assert sorted(first) == ["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"]


def test_history_human_flag_takes_the_next_word_as_the_image_without_equals():
    client = RecordingClient({("GET", "/images/busybox/history"): HISTORY})
    code, out = run(["history", "-H", "busybox"], client)
    assert code == 0 and out.startswith("IMAGE          CREATED        CREATED BY")
    with pytest.raises(UsageError, match='"image history" requires exactly 1 argument'):
        run(["image", "history"], client)


# --- import ---------------------------------------------------------------------------


def test_import_uploads_the_file_with_changes_and_message(tmp_path):
    archive = tmp_path / "rootfs.tar"
    archive.write_bytes(b"tar bytes")
    answer = b'{"status":"sha256:abc"}\r\n'
    client = RecordingClient({("POST", "/images/create"): answer})
    code, out = run(
        ["import", "-c", 'CMD ["/hello"]', "-c", "ENV A=1", "-m", "msg", str(archive), "x:1"],
        client,
    )
    assert (code, out) == (0, "sha256:abc\n")
    method, path, params, body = client.requests[0]
    assert (method, path, body) == ("POST", "/images/create", b"tar bytes")
    assert params["fromSrc"] == "-" and params["repo"] == "x:1" and params["message"] == "msg"
    assert params["changes"] == ['CMD ["/hello"]', "ENV A=1"]


def test_import_reports_the_stream_error_plainly(tmp_path):
    from estiba.errors import SystemFault

    archive = tmp_path / "empty.tar"
    archive.write_bytes(b"")
    answer = b'{"errorDetail":{"message":"not a tar"},"error":"not a tar"}\n'
    client = RecordingClient({("POST", "/images/create"): answer})
    with pytest.raises(SystemFault, match="not a tar"):
        run(["image", "import", str(archive)], client)


def test_import_of_a_url_lets_the_daemon_fetch_it():
    client = RecordingClient({("POST", "/images/create"): b'{"status":"sha256:abc"}\n'})
    run(["import", "https://example.com/rootfs.tar"], client)
    _, _, params, body = client.requests[0]
    assert (params["fromSrc"], body) == ("https://example.com/rootfs.tar", None)


# --- prune ----------------------------------------------------------------------------


def test_container_prune_asks_first_and_stops_on_no(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    client = RecordingClient()
    code, out = run(["container", "prune"], client)
    assert (code, client.requests) == (0, [])
    assert out == (
        "WARNING! This will remove all stopped containers.\n"
        "Are you sure you want to continue? [y/N] "
    )


def test_container_prune_reports_the_deleted_and_the_space(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Y\n"))
    answer = {"ContainersDeleted": ["a" * 64, "b" * 64], "SpaceReclaimed": 5000}
    client = RecordingClient({("POST", "/containers/prune"): answer})
    code, out = run(["container", "prune", "--filter", "until=1h"], client)
    assert out.endswith(
        f"Deleted Containers:\n{'a' * 64}\n{'b' * 64}\n\nTotal reclaimed space: 5kB\n"
    )
    assert json.loads(client.requests[0][2]["filters"]) == {"until": ["1h"]}
    _, out = run(["container", "prune", "-f"], RecordingClient())
    assert out == "Total reclaimed space: 0B\n"


def test_image_prune_sends_dangling_and_lists_untagged_and_deleted():
    answer = {
        "ImagesDeleted": [{"Untagged": "imp:1"}, {"Deleted": "sha256:fba8"}],
        "SpaceReclaimed": 20480,
    }
    client = RecordingClient({("POST", "/images/prune"): answer})
    code, out = run(["image", "prune", "-a", "-f", "--filter", "label=x"], client)
    assert out == (
        "Deleted Images:\nuntagged: imp:1\ndeleted: sha256:fba8\n\n"
        "Total reclaimed space: 20.48kB\n"
    )
    assert json.loads(client.requests[0][2]["filters"]) == {"label": ["x"], "dangling": ["false"]}
    run(["image", "prune", "-f"], client)
    assert json.loads(client.requests[1][2]["filters"]) == {"dangling": ["true"]}


def test_system_prune_warning_is_dockers():
    from estiba.cli.commands.system_prune import warning

    assert warning(all_unused=False, volumes=False, filters=[]) == (
        "WARNING! This will remove:\n"
        "  - all stopped containers\n"
        "  - all networks not used by at least one container\n"
        "  - all dangling images\n"
        "  - unused build cache\n"
        "\nAre you sure you want to continue?"
    )
    assert warning(all_unused=True, volumes=False, filters=["until=1h", "label=a=b"]) == (
        "WARNING! This will remove:\n"
        "  - all stopped containers\n"
        "  - all networks not used by at least one container\n"
        "  - all images without at least one container associated to them\n"
        "  - all build cache\n"
        "\n  Items to be pruned will be filtered with:\n"
        "  - label=a=b\n"
        "  - until=1h\n"
        "\nAre you sure you want to continue?"
    )


def test_system_prune_prunes_in_dockers_order_and_adds_up():
    client = RecordingClient(
        {
            ("POST", "/containers/prune"): {"ContainersDeleted": ["c" * 64],
                                            "SpaceReclaimed": 1000},
            ("POST", "/networks/prune"): {"NetworksDeleted": None},
            ("POST", "/images/prune"): {"ImagesDeleted": [{"Deleted": "sha256:1"}],
                                        "SpaceReclaimed": 2000},
            ("POST", "/build/prune"): {"CachesDeleted": None, "SpaceReclaimed": 0},
        }
    )  # fmt: skip
    code, out = run(["system", "prune", "-f"], client)
    assert [r[1] for r in client.requests] == [
        "/containers/prune", "/networks/prune", "/images/prune", "/build/prune"
    ]  # fmt: skip
    assert out == (
        f"Deleted Containers:\n{'c' * 64}\n\n"
        "Deleted Images:\ndeleted: sha256:1\n\n"
        "Total reclaimed space: 3kB\n"
    )


# --- system df ------------------------------------------------------------------------

DF = {
    "LayersSize": 4463000,
    "Images": [
        {"Id": BUSYBOX, "RepoTags": ["busybox:latest", "bb:1"], "Created": 1778186025,
         "Size": 2232000, "SharedSize": 0, "Containers": 1},
        {"Id": "sha256:" + "9c" * 32, "RepoTags": ["<none>:<none>"], "Created": 1778186025,
         "Size": 2231000, "SharedSize": 1000, "Containers": 0},
    ],
    "Containers": [
        {"Id": "6" * 64, "Names": ["/web"], "Image": "busybox", "Command": "sleep 1000",
         "Created": 1778186025, "State": "running", "Status": "Up 2 minutes", "SizeRw": 0,
         "SizeRootFs": 2232000},
        {"Id": "5" * 64, "Names": ["/old"], "Image": "busybox", "Command": "true",
         "Created": 1778186025, "State": "exited", "Status": "Exited (0) 1 minute ago",
         "SizeRw": 100003, "SizeRootFs": 2332003},
    ],
    "Volumes": [],
    "BuildCache": [],
}  # fmt: skip


def test_system_df_summary_is_computed_as_dockers_cli_does():
    code, out = run(["system", "df"], RecordingClient({("GET", "/system/df"): DF}))
    assert out == (
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"
        "Images          2         1         4.463MB   2.231MB (49%)\n"
        "Containers      2         1         100kB     100kB (100%)\n"
        "Local Volumes   0         0         0B        0B\n"
        "Build Cache     0         0         0B        0B\n"
    )


def test_system_df_json_rows():
    _, out = run(["system", "df", "--format", "json"], RecordingClient({("GET", "/system/df"): DF}))
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["Type"] for r in rows] == ["Images", "Containers", "Local Volumes", "Build Cache"]
    assert sorted(rows[0]) == ["Active", "Reclaimable", "Size", "TotalCount", "Type"]


def test_system_df_verbose_has_a_table_per_kind():
    _, out = run(["system", "df", "-v"], RecordingClient({("GET", "/system/df"): DF}))
    titles = [line for line in out.splitlines() if line.endswith(":") or "usage:" in line]
    assert titles == [
        "Images space usage:",
        "Containers space usage:",
        "Local Volumes space usage:",
        "Build cache usage: 0B",
    ]
    lines = out.splitlines()
    assert lines[2].split() == [
        "REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE", "SHARED", "SIZE", "UNIQUE", "SIZE",
        "CONTAINERS",
    ]  # fmt: skip
    assert lines[3].split()[:3] == ["busybox", "latest", "3854f9450b2b"]
    assert lines[3].split()[-4:] == ["2.23MB", "0B", "2.232MB", "1"]
    assert lines[4].split()[:3] == ["<none>", "<none>", "9c9c9c9c9c9c"]
    old = next(line for line in lines if line.startswith("555555555555"))
    assert "100kB" in old and "virtual" not in old
    assert "VOLUME NAME   LINKS     SIZE" in out
    assert out.endswith(
        "CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"
    )
