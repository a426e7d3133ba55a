"""`estiba image|container|system ...`, `history` and `import` against a real estibad, side
by side with the docker CLI: what a user sees must read the same from both.

Needs root (containers run); skipped otherwise. One daemon for the module: each test makes
the objects it needs and looks only at those, and a long-running container (`keeper`)
holds busybox in use throughout.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import BIN, Estibad

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.timeout(240),
]


def out(result) -> str:  # type: ignore[no-untyped-def]
    return result.stdout.decode()


def err(result) -> str:  # type: ignore[no-untyped-def]
    return result.stderr.decode()


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    daemon.estiba("image", "bootstrap", "busybox")
    keeper = out(daemon.estiba("run", "-d", "--name", "keeper", "busybox", "sleep", "1000"))
    yield daemon
    daemon.estiba("rm", "-f", keeper.strip(), check=False)


@pytest.fixture(scope="module")
def rootfs_tar(busybox: Estibad, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """busybox's filesystem as a plain tar, the kind of file `import` takes."""
    path = tmp_path_factory.mktemp("import") / "rootfs.tar"
    cid = out(busybox.docker("create", "busybox", "true")).strip()
    busybox.docker("export", "-o", str(path), cid)
    busybox.docker("rm", cid)
    return path


def estiba_with_input(daemon: Estibad, *args: str, input: bytes) -> object:
    return daemon._run([str(BIN / "estiba"), "-H", daemon.url, *args], input, False, 60)


def ids(text: str) -> list[str]:
    return sorted(set(text.split()))


# --- image ----------------------------------------------------------------------------


def test_image_ls_lists_the_same_images_as_docker(busybox: Estibad) -> None:
    busybox.estiba("image", "tag", "busybox", "listed:1")
    ours = out(busybox.estiba("image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
    theirs = out(busybox.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
    assert sorted(ours.splitlines()) == sorted(theirs.splitlines())
    assert "listed:1 " in ours
    assert ids(out(busybox.estiba("image", "ls", "-q"))) == ids(
        out(busybox.docker("image", "ls", "-q"))
    )
    header = out(busybox.estiba("image", "list")).splitlines()[0]
    assert header.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    busybox.estiba("image", "rm", "listed:1")


def test_image_inspect_is_dockers_document(busybox: Estibad) -> None:
    ours = json.loads(out(busybox.estiba("image", "inspect", "busybox")))
    theirs = json.loads(out(busybox.docker("image", "inspect", "busybox")))
    assert ours == theirs and ours[0]["RepoTags"] == ["busybox:latest"]
    template = "{{.Id}} {{.Os}}"
    assert out(busybox.estiba("image", "inspect", "-f", template, "busybox")) == out(
        busybox.docker("image", "inspect", "-f", template, "busybox")
    )
    # images only: a container's name is no image
    missing = busybox.estiba("image", "inspect", "keeper", check=False)
    assert missing.returncode == 1
    assert err(missing) == "Error response from daemon: No such image: keeper\n"


@pytest.mark.parametrize(
    "flags",
    [
        ["-H=false"],
        ["--human=false", "--no-trunc"],
        ["-q"],
        ["-q", "--no-trunc"],
        ["--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}"],
        ["--format", "table {{.ID}}\t{{.Size}}"],
    ],
)
def test_history_reads_as_dockers(busybox: Estibad, flags: list[str]) -> None:
    ours = out(busybox.estiba("history", *flags, "busybox"))
    assert ours == out(busybox.docker("history", *flags, "busybox"))
    assert out(busybox.estiba("image", "history", *flags, "busybox")) == ours


def test_history_default_columns_are_dockers(busybox: Estibad) -> None:
    ours = out(busybox.estiba("history", "busybox")).splitlines()
    theirs = out(busybox.docker("history", "busybox")).splitlines()
    assert ours[0] == theirs[0]
    assert ours[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert [line.split()[0] for line in ours] == [line.split()[0] for line in theirs]


def test_import_a_tar_then_run_from_it(busybox: Estibad, rootfs_tar: Path) -> None:
    result = busybox.estiba(
        "import", "-c", 'CMD ["echo", "from the import"]', "-m", "imported here",
        str(rootfs_tar), "imported:1",
    )  # fmt: skip
    image_id = out(result).strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    assert out(busybox.estiba("run", "--rm", "imported:1")) == "from the import\n"
    assert out(busybox.docker("run", "--rm", "imported:1", "echo", "docker too")) == "docker too\n"
    comment = out(busybox.docker("history", "--format", "{{.Comment}}", "imported:1"))
    assert comment == "imported here\n"
    busybox.estiba("image", "import", str(rootfs_tar), "imported:2")
    assert out(busybox.docker("image", "inspect", "-f", "{{.Id}}", "imported:2")).strip()
    busybox.estiba("rmi", "imported:1", "imported:2")


def test_import_of_a_missing_file_fails_before_the_daemon(busybox: Estibad) -> None:
    result = busybox.estiba("import", "/nonexistent.tar", check=False)
    assert result.returncode == 1
    assert err(result) == "open /nonexistent.tar: no such file or directory\n"


def test_image_rm_of_an_image_in_use_is_refused_as_docker(busybox: Estibad) -> None:
    ours = busybox.estiba("image", "rm", "busybox", check=False)
    theirs = busybox.docker("image", "rm", "busybox", check=False)
    assert ours.returncode == theirs.returncode == 1
    assert err(ours) == err(theirs)
    assert err(ours).startswith("Error response from daemon: conflict: unable to remove")


def test_image_prune_all_removes_only_unused_images(
    busybox: Estibad, rootfs_tar: Path
) -> None:
    unused = out(busybox.estiba("import", str(rootfs_tar), "unused:1")).strip()
    busybox.estiba("tag", "busybox", "alias:1")  # a second name of an image in use
    result = busybox.estiba("image", "prune", "-a", "-f")
    lines = out(result).splitlines()
    assert lines[0] == "Deleted Images:"
    assert "untagged: unused:1" in lines and f"deleted: {unused}" in lines
    assert lines[-1].startswith("Total reclaimed space: ") and lines[-2] == ""
    left = out(busybox.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")).split()
    assert "unused:1" not in left
    assert {"busybox:latest", "alias:1"} <= set(left)
    busybox.estiba("rmi", "alias:1")


def test_image_prune_asks_and_no_keeps_everything(busybox: Estibad, rootfs_tar: Path) -> None:
    dangling = out(busybox.estiba("import", str(rootfs_tar))).strip()
    answer = estiba_with_input(busybox, "image", "prune", input=b"n\n")
    assert answer.returncode == 0  # type: ignore[attr-defined]
    assert out(answer) == (
        "WARNING! This will remove all dangling images.\n"
        "Are you sure you want to continue? [y/N] "
    )
    assert out(busybox.docker("image", "inspect", "-f", "{{.Id}}", dangling)).strip() == dangling
    pruned = estiba_with_input(busybox, "image", "prune", input=b"y\n")
    assert f"deleted: {dangling}" in out(pruned)


# --- container ------------------------------------------------------------------------


def _make_stopped(daemon: Estibad) -> list[str]:
    exited = out(daemon.estiba("container", "run", "-d", "busybox", "sh", "-c",
                               "head -c 5000 /dev/zero > /written")).strip()  # fmt: skip
    daemon.estiba("container", "wait", exited)
    created = out(daemon.estiba("container", "create", "busybox", "true")).strip()
    return [exited, created]


def test_container_prune_removes_only_stopped_containers(busybox: Estibad) -> None:
    stopped = _make_stopped(busybox)
    running = out(busybox.estiba("container", "run", "-d", "busybox", "sleep", "100")).strip()
    result = busybox.estiba("container", "prune", "-f")
    lines = out(result).splitlines()
    assert lines[0] == "Deleted Containers:"
    assert set(stopped) <= set(lines[1:-2])
    assert lines[-2] == "" and lines[-1].startswith("Total reclaimed space: ")
    assert lines[-1] != "Total reclaimed space: 0B"  # the 5 kB written
    left = out(busybox.docker("ps", "-a", "--no-trunc", "--format", "{{.ID}}")).split()
    assert running in left and not set(stopped) & set(left)
    busybox.estiba("container", "rm", "-f", running)


def test_container_prune_with_a_label_filter(busybox: Estibad) -> None:
    kept = out(busybox.estiba("container", "create", "--label", "keep=yes", "busybox")).strip()
    gone = out(busybox.estiba("container", "create", "--label", "keep=no", "busybox")).strip()
    result = busybox.estiba("container", "prune", "-f", "--filter", "label=keep=no")
    assert gone in out(result).split() and kept not in out(result).split()
    assert out(busybox.estiba("container", "ls", "-aq", "--no-trunc")).split().count(kept) == 1
    busybox.estiba("container", "rm", kept)


def test_container_prune_prompt_no_removes_nothing(busybox: Estibad) -> None:
    created = out(busybox.estiba("container", "create", "busybox")).strip()
    answer = estiba_with_input(busybox, "container", "prune", input=b"n\n")
    assert out(answer) == (
        "WARNING! This will remove all stopped containers.\n"
        "Are you sure you want to continue? [y/N] "
    )
    assert created in out(busybox.docker("ps", "-aq", "--no-trunc")).split()
    busybox.estiba("rm", created)


def test_docker_container_prune_works_against_estibad(busybox: Estibad) -> None:
    stopped = _make_stopped(busybox)
    result = busybox.docker("container", "prune", "-f")
    assert out(result).startswith("Deleted Containers:\n")
    assert set(stopped) <= set(out(result).split())
    assert "keeper" in out(busybox.docker("ps", "--format", "{{.Names}}"))


def test_container_group_runs_the_container_commands(busybox: Estibad) -> None:
    assert out(busybox.estiba("container", "run", "--rm", "busybox", "echo", "hi")) == "hi\n"
    state = busybox.estiba("container", "inspect", "-f", "{{.State.Status}}", "keeper")
    assert out(state) == "running\n"
    listed = out(busybox.estiba("container", "ls", "--format", "{{.Names}}")).split()
    assert "keeper" in listed
    assert out(busybox.estiba("container", "top", "keeper")).startswith("UID")
    missing = busybox.estiba("container", "inspect", "busybox", check=False)
    assert missing.returncode == 1
    assert err(missing) == "Error response from daemon: No such container: busybox\n"


@pytest.mark.parametrize("group", ["image", "container", "system"])
def test_unknown_subcommands_exit_1_as_docker(busybox: Estibad, group: str) -> None:
    ours = busybox.estiba(group, "bogus", check=False)
    theirs = busybox.docker(group, "bogus", check=False)
    assert ours.returncode == theirs.returncode == 1
    assert err(ours).startswith(f"estiba: unknown command: estiba {group} bogus\n")
    assert err(theirs).startswith(f"docker: unknown command: docker {group} bogus\n")


def test_a_failing_container_run_exits_125(busybox: Estibad) -> None:
    result = busybox.estiba("container", "run", "--rm", "no-such-image", check=False)
    assert result.returncode == 125


# --- system ---------------------------------------------------------------------------


def test_system_df_reads_the_same_from_both_clis(busybox: Estibad) -> None:
    ours = out(busybox.estiba("system", "df")).splitlines()
    theirs = out(busybox.docker("system", "df")).splitlines()
    assert [line.split()[0] for line in ours] == ["TYPE", "Images", "Containers", "Local", "Build"]
    assert ours == theirs
    images = next(line for line in ours if line.startswith("Images"))
    assert int(images.split()[2]) >= 1  # busybox, in use by keeper


def test_system_df_verbose_and_json(busybox: Estibad) -> None:
    ours = out(busybox.estiba("system", "df", "-v"))
    theirs = out(busybox.docker("system", "df", "-v"))
    titles = ["Images space usage:", "Containers space usage:", "Local Volumes space usage:",
              "Build cache usage: 0B"]  # fmt: skip
    for title in titles:
        assert title in ours and title in theirs
    # The two calls are apart in time: "18 seconds ago" may read "19 seconds ago" in the second.
    def timeless(text: str) -> list[str]:
        return [re.sub(r"\b(About a|About an|Less than a|\d+) \w+ ago\b", "<ago>", line) for line in text.splitlines()]

    keeper = [line for line in timeless(ours) if line.endswith("keeper")]
    assert len(keeper) == 1 and keeper[0] in timeless(theirs)
    ours_json = out(busybox.estiba("system", "df", "--format", "json"))
    rows = [json.loads(line) for line in ours_json.splitlines()]
    assert rows == [
        json.loads(line)
        for line in out(busybox.docker("system", "df", "--format", "json")).splitlines()
    ]


def test_system_prune_keeps_running_containers_and_used_images(
    busybox: Estibad, rootfs_tar: Path
) -> None:
    stopped = _make_stopped(busybox)
    dangling = out(busybox.estiba("import", str(rootfs_tar))).strip()
    result = busybox.estiba("system", "prune", "-f")
    text = out(result)
    assert text.startswith("Deleted Containers:\n")
    assert set(stopped) <= set(text.split())
    assert f"deleted: {dangling}" in text
    assert text.splitlines()[-1].startswith("Total reclaimed space: ")
    assert "keeper" in out(busybox.docker("ps", "--format", "{{.Names}}"))
    assert "busybox:latest" in out(
        busybox.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
    )


def test_system_prune_warning_is_dockers(busybox: Estibad) -> None:
    args = ("system", "prune", "-a", "--filter", "until=1h", "--filter", "label=a=b")
    ours = estiba_with_input(busybox, *args, input=b"n\n")
    theirs = busybox.docker(*args, input=b"n\n")
    assert out(ours) == out(theirs)
    assert ours.returncode == theirs.returncode == 0  # type: ignore[attr-defined]


def test_docker_system_and_image_prune_work_against_estibad(
    busybox: Estibad, rootfs_tar: Path
) -> None:
    _make_stopped(busybox)
    busybox.estiba("import", str(rootfs_tar), "dockerpruned:1")
    result = busybox.docker("system", "prune", "-f")
    assert out(result).startswith("Deleted Containers:\n")
    result = busybox.docker("image", "prune", "-a", "-f")
    assert "untagged: dockerpruned:1" in out(result)
    assert "keeper" in out(busybox.docker("ps", "--format", "{{.Names}}"))


def test_system_info_and_events_are_info_and_events(busybox: Estibad) -> None:
    assert out(busybox.estiba("system", "info", "-f", "{{.Driver}}")) == "overlay\n"
    events = busybox.estiba(
        "system", "events", "--since", "10m", "--until", "0s", "--filter", "event=prune"
    )
    assert "container prune" in out(events)
