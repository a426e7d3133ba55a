"""Who a container's process runs as: `User` and `GroupAdd` resolved against the
container's own /etc/passwd and /etc/group, the way dockerd (runc's libcontainer/user)
resolves them.

`User` is "", "name", "uid", "name:group", "uid:gid" or "name:" (anything past a second
colon is ignored). A name must be in the passwd file; a number need not be. With a
group given explicitly, the passwd group is replaced and no supplementary groups are
looked up; otherwise the user's groups come from the group file's member lists.
`additional_gids` is then the primary group, those groups and the GroupAdd ones, in that
order, as in dockerd.

The files are read from the rootfs without leaving it: symlinks resolve inside the rootfs
(`secure_join`), the last component must not be a symlink, and only a regular file is
read, so an image cannot make the daemon read a host file or block on a FIFO or device.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import NamedTuple

from estiba.engine._apifields import go_atoi
from estiba.errors import InvalidArgument
from estiba.runtime.securejoin import secure_join

MAX_ID = 2**31 - 1
_MAX_FILE = 64 * 1024 * 1024
_RANGE_MESSAGE = f"uids and gids must be in range 0-{MAX_ID}"


class PasswdEntry(NamedTuple):
    name: str
    uid: int
    gid: int
    home: str


class GroupEntry(NamedTuple):
    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class ExecUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...]
    home: str = "/"

    def oci(self) -> dict[str, object]:
        """The OCI `process.user` object, as dockerd writes it."""
        return {"uid": self.uid, "gid": self.gid, "additionalGids": list(self.additional_gids)}


def resolve_user(
    rootfs: str | os.PathLike[str], user: str, group_add: tuple[str, ...] | list[str] = ()
) -> ExecUser:
    """Resolve `user` and `group_add` against rootfs/etc/passwd and rootfs/etc/group.

    A missing or unreadable file counts as empty, as in dockerd; unknown names are
    InvalidArgument with dockerd's messages."""
    passwd = _read_rootfs_file(rootfs, "/etc/passwd")
    group = _read_rootfs_file(rootfs, "/etc/group")
    return exec_user(
        user,
        group_add,
        passwd=None if passwd is None else parse_passwd(passwd),
        group=None if group is None else parse_group(group),
    )


def exec_user(
    user: str,
    group_add: tuple[str, ...] | list[str] = (),
    *,
    passwd: list[PasswdEntry] | None,
    group: list[GroupEntry] | None,
) -> ExecUser:
    """The resolution itself, on parsed files (None: the file does not exist)."""
    user_arg, _, rest = user.partition(":")
    group_arg = rest.split(":", 1)[0]
    uid_arg, gid_arg = go_atoi(user_arg), go_atoi(group_arg)

    uid, gid, home, matched_name = 0, 0, "/", ""
    for entry in passwd or ():
        if (user_arg == "" and entry.uid == 0) or (
            entry.uid == uid_arg if uid_arg is not None else entry.name == user_arg
        ):
            uid, gid, home, matched_name = entry.uid, entry.gid, entry.home, entry.name
            break
    else:
        if user_arg != "":
            if uid_arg is None:
                raise InvalidArgument(f"unable to find user {user_arg}: no matching entries in passwd file")
            uid = _in_range(uid_arg)

    supplementary: list[int] = []
    if group_arg != "":
        for entry in group or ():
            if (entry.gid == gid_arg) if gid_arg is not None else (entry.name == group_arg):
                gid = entry.gid
                break
        else:
            if gid_arg is None:
                raise InvalidArgument(f"unable to find group {group_arg}: no matching entries in group file")
            gid = _in_range(gid_arg)
    elif matched_name:
        supplementary = [entry.gid for entry in group or () if matched_name in entry.members]

    return ExecUser(uid, gid, (gid, *supplementary, *additional_groups(group_add, group)), home)


def additional_groups(names: tuple[str, ...] | list[str], group: list[GroupEntry] | None) -> list[int]:
    """GroupAdd as gids: names or numbers from the group file, or bare numbers.

    As in runc, a group already taken by an earlier entry does not match again, so
    ["100", "users"] (the same group twice) fails on "users"."""
    gids: list[int] = []
    for name in names:
        for entry in group or ():
            if (entry.name == name or str(entry.gid) == name) and entry.gid not in gids:
                gids.append(entry.gid)
                break
        else:
            number = go_atoi(name)
            if number is None:
                raise InvalidArgument(f"Unable to find group {name}: no matching entries in group file")
            if _in_range(number) not in gids:
                gids.append(number)
    return gids


def parse_passwd(text: str) -> list[PasswdEntry]:
    """passwd(5) lines; fields that are not numbers read as 0, as in runc."""
    entries = []
    for fields in _lines(text):
        fields += [""] * (7 - len(fields))
        entries.append(PasswdEntry(fields[0], _number(fields[2]), _number(fields[3]), fields[5]))
    return entries


def parse_group(text: str) -> list[GroupEntry]:
    entries = []
    for fields in _lines(text):
        fields += [""] * (4 - len(fields))
        entries.append(GroupEntry(fields[0], _number(fields[2]), tuple(fields[3].split(","))))
    return entries


def _lines(text: str) -> list[list[str]]:
    return [line.strip().split(":") for line in text.split("\n") if line.strip()]


def _number(text: str) -> int:
    number = go_atoi(text)
    return 0 if number is None else number


def _in_range(number: int) -> int:
    if not 0 <= number <= MAX_ID:
        raise InvalidArgument(_RANGE_MESSAGE)
    return number


def _read_rootfs_file(rootfs: str | os.PathLike[str], path: str) -> str | None:
    """The text of a regular file inside rootfs, or None when there is none to read."""
    try:
        host_path = secure_join(os.fspath(rootfs), path)
        fd = os.open(host_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
            size += len(chunk)
            if size > _MAX_FILE:
                raise InvalidArgument(f"{path} in the container is larger than {_MAX_FILE >> 20} MiB")
        return b"".join(chunks).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    finally:
        os.close(fd)
