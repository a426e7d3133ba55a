"""The seed book's section 8 ("Manexo básico de contedores"), command by command, once with
the estiba CLI and once with the real docker CLI, against one estibad with a Debian image.

The book's commands, in its order: `run -i debian echo Ola Mundo!`, `ps -a`, `create` then
`start` by the long and the short id, `run --rm -ti debian /bin/bash` and `cat /etc/issue`,
`run --name dserver00 -d ... tail -f /dev/null`, `exec -ti dserver00 /bin/bash`, `-e`
variables, `stop`, `rm`; then `images` and `rmi`. Interactive steps go through a real pty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Cli, DebianImage
from tests.e2e.helpers import ROOT_PROMPT, Terminal

pytestmark = pytest.mark.timeout(180)

ISSUE = "Debian GNU/Linux 12 \\n \\l"


@pytest.fixture
def sh(cli: Cli, debian: DebianImage) -> Iterator[Cli]:
    """The CLI under test, with debian present and no containers before or after."""
    assert cli.out("ps", "-aq") == ""
    yield cli
    leftovers = cli.out("ps", "-aq").split()
    if leftovers:
        cli("rm", "-f", *leftovers)


def ps_row(cli: Cli, container_id: str) -> str:
    """The `ps -a` row of one container, as the user reads it."""
    rows = [row for row in cli.out("ps", "-a").splitlines() if row.startswith(container_id[:12])]
    assert len(rows) == 1, rows
    return rows[0]


def test_run_i_echo_ola_mundo_then_ps_a(sh: Cli) -> None:
    # Typed at a terminal, as in the book: -i without -t, the command ends on its own.
    with Terminal(sh.command("run", "-i", "debian", "echo", "Ola", "Mundo!"), env=sh.env) as terminal:
        assert terminal.wait() == 0
        assert terminal.transcript == b"Ola Mundo!\r\n"
    # And with stdin from a pipe, as a script would.
    result = sh("run", "-i", "debian", "echo", "Ola", "Mundo!", input=b"")
    assert result.stdout == b"Ola Mundo!\n" and result.returncode == 0

    header, *rows = sh.out("ps", "-a").splitlines()
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert len(rows) == 2
    exited_row = re.compile(
        r'^[0-9a-f]{12} +debian +"echo Ola Mundo!" +.* ago +Exited \(0\) .* ago +[a-z]+_[a-z]+$'
    )
    for row in rows:
        assert exited_row.match(row), row
    assert sh.out("ps", "-q") == ""
    assert sh.out("ps", "-a", "--format", "{{.Status}}").startswith("Exited (0)")
    for row in rows:
        assert sh.out("inspect", "--format", "{{.State.ExitCode}}", row.split()[0]) == "0\n"


def test_run_help_lists_the_options_the_book_uses(cli: Cli) -> None:
    usage = cli.out("run", "--help")
    for short, long in (("-i", "--interactive"), ("-t", "--tty"), ("-d", "--detach"), ("-e", "--env")):
        assert re.search(rf"^ +{short}( [A-Z]+)?, {long}\b", usage, re.MULTILINE), long
    assert "--rm" in usage and "--name" in usage


def test_create_then_start_by_long_and_short_id(sh: Cli) -> None:
    long_id = sh.out("create", "debian").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", long_id)
    assert sh.out("ps", "-q") == ""
    assert "Created" in ps_row(sh, long_id)

    assert sh.out("start", long_id) == f"{long_id}\n"
    assert sh.out("wait", long_id) == "0\n"  # bash with no stdin ends at once, as the book says
    assert "Exited (0)" in ps_row(sh, long_id)

    short_id = long_id[:12]
    assert sh.out("start", short_id) == f"{short_id}\n"
    assert sh.out("wait", short_id) == "0\n"
    assert "Exited (0)" in ps_row(sh, long_id)
    assert sh.out("rm", short_id) == f"{short_id}\n"


def test_a_service_container_with_exec_env_stop_rm(sh: Cli) -> None:
    long_id = sh.out(
        "run", "--name", "dserver00", "-d", "-e", "ROOT_LOGIN=admin", "-e", "ROOT_PASSWORD=abc123.",
        "debian", "tail", "-f", "/dev/null",
    ).strip()  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{64}", long_id)
    row = ps_row(sh, long_id)
    assert '"tail -f /dev/null"' in row and " Up " in row and row.endswith("dserver00")

    with Terminal(sh.command("exec", "-ti", "dserver00", "/bin/bash"), env=sh.env) as terminal:
        prompt = terminal.expect(ROOT_PROMPT)
        assert f"root@{long_id[:12]}:/# ".encode() in prompt
        terminal.send("cat /etc/issue")
        assert ISSUE.encode() in terminal.expect(ROOT_PROMPT)
        terminal.send("exit")
        assert terminal.wait() == 0
        assert b"\x00" not in terminal.transcript and b"^@" not in terminal.transcript
    assert " Up " in ps_row(sh, long_id), "the container outlives the exec'd shell"

    env = sh.out("exec", "dserver00", "env").splitlines()
    assert "ROOT_LOGIN=admin" in env and "ROOT_PASSWORD=abc123." in env
    assert f"HOSTNAME={long_id[:12]}" in env

    # tail, as pid 1, ignores SIGTERM: stop waits its grace period (1 s here, not the
    # default 10) and then kills it.
    assert sh.out("stop", "-t", "1", long_id[:12]) == f"{long_id[:12]}\n"
    assert sh.out("ps", "-q") == ""
    assert "Exited (137)" in ps_row(sh, long_id)
    assert sh.out("rm", long_id[:12]) == f"{long_id[:12]}\n"
    assert sh.out("ps", "-aq") == ""


def test_run_rm_ti_bash_at_a_terminal(sh: Cli) -> None:
    with Terminal(sh.command("run", "--rm", "-ti", "debian", "/bin/bash"), env=sh.env) as terminal:
        terminal.expect(ROOT_PROMPT)
        terminal.send("cat /etc/issue")
        assert ISSUE.encode() in terminal.expect(ROOT_PROMPT)
        assert sh.out("ps", "--format", "{{.Command}} {{.Status}}").startswith('"/bin/bash" Up')
        terminal.send("exit")
        assert terminal.wait() == 0
        assert b"\x00" not in terminal.transcript and b"^@" not in terminal.transcript
    assert sh.out("ps", "-aq") == "", "--rm removed the container"


def test_exit_code_of_an_interactive_shell(sh: Cli) -> None:
    with Terminal(sh.command("run", "-ti", "--name", "shell", "debian", "/bin/bash"), env=sh.env) as terminal:
        terminal.expect(ROOT_PROMPT)
        terminal.send("exit 3")
        assert terminal.wait() == 3
    assert "Exited (3)" in ps_row(sh, sh.out("ps", "-aq").strip())
    state = json.loads(sh.out("inspect", "shell"))[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 3


def test_images_and_rmi_refused_while_a_container_uses_the_image(sh: Cli, debian: DebianImage) -> None:
    listed = [row.split()[:2] for row in sh.out("images").splitlines()[1:]]
    assert ["debian", "latest"] in listed and ["debian", "bookworm"] in listed
    container_id = sh.out("create", "debian", "true").strip()
    try:
        # Another tag of the same image is only untagged, even with a container using it.
        assert sh.out("rmi", "debian:bookworm") == "Untagged: debian:bookworm\n"
        refused = sh("rmi", "debian", check=False)
        assert refused.returncode == 1
        assert refused.stdout == b""
        assert container_id[:12].encode() in refused.stderr, refused.stderr
        assert b"must force" in refused.stderr or b"is using" in refused.stderr
        assert ["debian", "latest"] in [r.split()[:2] for r in sh.out("images").splitlines()[1:]]

        sh("rm", container_id)
        removed = sh.out("rmi", "debian").splitlines()
        assert removed[0] == "Untagged: debian:latest"
        assert any(line.startswith("Deleted: sha256:") for line in removed[1:])
        assert "debian" not in sh.out("images")
    finally:
        debian.restore()


def test_a_host_directory_outlives_the_container(sh: Cli, tmp_path) -> None:
    # Section 10: `docker run --rm -ti -v ~/dserver03_datos:/var/datos debian /bin/bash`,
    # typed at a shell (which expands the ~), a file written there, the container gone.
    import shlex

    line = shlex.join(sh.command("run", "--rm", "-ti")) + " -v ~/dserver03_datos:/var/datos debian /bin/bash"
    with Terminal(["sh", "-c", line], env={**sh.env, "HOME": str(tmp_path)}) as terminal:
        terminal.expect(ROOT_PROMPT)
        terminal.send("echo gardado > /var/datos/proba.txt")
        terminal.expect(ROOT_PROMPT)
        terminal.send("exit")
        assert terminal.wait() == 0
    assert sh.out("ps", "-aq") == "", "--rm removed the container"
    assert (tmp_path / "dserver03_datos" / "proba.txt").read_text() == "gardado\n"
