"""User and GroupAdd resolve as dockerd resolves them (results and messages taken from
dockerd 20.10 with runc 1.1 on the busybox rootfs), and reading the container's files
never leaves its rootfs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from estiba.engine.users import exec_user, parse_group, parse_passwd, resolve_user
from estiba.errors import InvalidArgument

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
estiba:x:1000:1000:estiba:/home/estiba:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""

GROUP = """\
root:x:0:
daemon:x:1:
users:x:100:
estiba:x:1000:
extra:x:2000:estiba
nogroup:x:65534:
"""


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    return tmp_path


# (User, GroupAdd) -> (uid, gid, additionalGids), as dockerd put them in config.json
# or as `id` showed them in the container.
RESOLVED = [
    ("", (), (0, 0, (0,))),
    ("root", (), (0, 0, (0,))),
    ("estiba", (), (1000, 1000, (1000, 2000))),
    ("1000", (), (1000, 1000, (1000, 2000))),
    ("estiba:", (), (1000, 1000, (1000, 2000))),
    ("1000:2000", (), (1000, 2000, (2000,))),
    ("estiba:extra", ("100", "daemon"), (1000, 2000, (2000, 100, 1))),
    (":extra", (), (0, 2000, (2000,))),
    ("4242", (), (4242, 0, (0,))),
    ("4242:4343", (), (4242, 4343, (4343,))),
    ("0:0:0", (), (0, 0, (0,))),
    ("1000:2000", ("7",), (1000, 2000, (2000, 7))),
    ("estiba", ("extra",), (1000, 1000, (1000, 2000, 2000))),
    ("", ("7", "7"), (0, 0, (0, 7))),
]


@pytest.mark.parametrize(("user", "group_add", "expected"), RESOLVED)
def test_resolves_like_dockerd(rootfs: Path, user: str, group_add: tuple, expected: tuple) -> None:
    resolved = resolve_user(rootfs, user, group_add)
    assert (resolved.uid, resolved.gid, resolved.additional_gids) == expected


FAILURES = [
    ("nosuch", (), "unable to find user nosuch: no matching entries in passwd file"),
    ("estiba:nosuch", (), "unable to find group nosuch: no matching entries in group file"),
    ("99999999999", (), "uids and gids must be in range 0-2147483647"),
    ("-1", (), "uids and gids must be in range 0-2147483647"),
    ("0:-5", (), "uids and gids must be in range 0-2147483647"),
    ("", ("nosuch",), "Unable to find group nosuch: no matching entries in group file"),
    # runc skips a group already taken, so the same group by id and by name fails.
    ("", ("100", "users"), "Unable to find group users: no matching entries in group file"),
    ("", ("users", "users"), "Unable to find group users: no matching entries in group file"),
    ("", ("3000000000",), "uids and gids must be in range 0-2147483647"),
]


@pytest.mark.parametrize(("user", "group_add", "message"), FAILURES)
def test_fails_like_dockerd(rootfs: Path, user: str, group_add: tuple, message: str) -> None:
    with pytest.raises(InvalidArgument) as failure:
        resolve_user(rootfs, user, group_add)
    assert str(failure.value) == message


def test_home_comes_from_passwd(rootfs: Path) -> None:
    assert resolve_user(rootfs, "estiba").home == "/home/estiba"
    assert resolve_user(rootfs, "4242").home == "/"


def test_oci_user_object(rootfs: Path) -> None:
    assert resolve_user(rootfs, "estiba").oci() == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 2000]}


def test_without_files_only_numbers_resolve(tmp_path: Path) -> None:
    assert resolve_user(tmp_path, "").additional_gids == (0,)
    assert resolve_user(tmp_path, "1000:1000", ["5"]).additional_gids == (1000, 5)
    with pytest.raises(InvalidArgument, match="unable to find user root"):
        resolve_user(tmp_path, "root")
    with pytest.raises(InvalidArgument, match="unable to find group wheel"):
        resolve_user(tmp_path, "0:wheel")


def test_first_match_wins_and_numbers_match_as_numbers() -> None:
    passwd = parse_passwd("a:x:5:6::/a:\na:x:7:8::/b:\n")
    assert exec_user("a", passwd=passwd, group=None).uid == 5
    assert exec_user("005", passwd=passwd, group=None).gid == 6


def test_parsing_is_as_lenient_as_runc() -> None:
    passwd = parse_passwd("  \n\nbroken:x:abc:def\n  spaced:x:3:4:g:/h:/s  \r\nshort\n")
    assert passwd[0][:3] == ("broken", 0, 0)
    assert passwd[1] == ("spaced", 3, 4, "/h")
    assert passwd[2] == ("short", 0, 0, "")
    group = parse_group("g:x:9:a,b\nempty:x:10:\n")
    assert group[0].members == ("a", "b")
    assert exec_user("a", passwd=parse_passwd("a:x:1:1::/:"), group=group).additional_gids == (1, 9)


def test_passwd_symlink_stays_in_rootfs(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("host") / "passwd"
    outside.write_text("hostuser:x:4000:4000::/:/bin/sh\n")
    (rootfs / "etc/passwd").unlink()
    # An absolute link resolves inside the rootfs, where there is no such file.
    (rootfs / "etc/passwd").symlink_to(outside)
    with pytest.raises(InvalidArgument, match="unable to find user hostuser"):
        resolve_user(rootfs, "hostuser")
    # A relative link that climbs out stops at the rootfs.
    (rootfs / "etc/passwd").unlink()
    (rootfs / "etc/passwd").symlink_to("../../../../../../../.." + str(outside))
    with pytest.raises(InvalidArgument, match="unable to find user hostuser"):
        resolve_user(rootfs, "hostuser")


def test_symlink_inside_rootfs_is_followed(rootfs: Path) -> None:
    (rootfs / "lib").mkdir()
    (rootfs / "etc/passwd").rename(rootfs / "lib/passwd")
    (rootfs / "etc/passwd").symlink_to("/lib/passwd")
    assert resolve_user(rootfs, "estiba").uid == 1000


def test_fifo_or_directory_reads_as_missing(rootfs: Path) -> None:
    (rootfs / "etc/passwd").unlink()
    os.mkfifo(rootfs / "etc/passwd")  # opening it for reading would block
    with pytest.raises(InvalidArgument, match="unable to find user estiba"):
        resolve_user(rootfs, "estiba")
    (rootfs / "etc/group").unlink()
    (rootfs / "etc/group").mkdir()
    assert resolve_user(rootfs, "1:1", ["9"]).additional_gids == (1, 9)
