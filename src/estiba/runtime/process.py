"""The last steps before the user's program: fds, capabilities, user, cwd, no_new_privs, seccomp.

Shared by a container's first process and by `exec`. The order is the kernel's: the
bounding set can only be dropped while we are root; capabilities survive the user switch
only through PR_SET_KEEPCAPS; seccomp needs CAP_SYS_ADMIN unless no_new_privs is set, so
without no_new_privs it is loaded before the capabilities go, and otherwise as late as
possible so the profile has to allow as few of our own syscalls as possible.
"""

from __future__ import annotations

import os
import stat

from estiba.errors import NotFound
from estiba.runtime import capabilities as caps
from estiba.runtime import syscalls as sc
from estiba.runtime.spec import Process


def mark_fds_cloexec(first: int) -> None:
    """Set close-on-exec on every fd from `first` up, so the program inherits only stdio."""
    import fcntl

    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= first:
            try:
                flags = fcntl.fcntl(fd, fcntl.F_GETFD)
                fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)
            except OSError:
                pass


def look_path(name: str, env_path: str | None) -> str:
    """Find the program as execvp would, with the container's PATH; raise NotFound."""
    if "/" in name:
        try:
            info = os.stat(name)
        except OSError as exc:
            raise NotFound(f'exec: "{name}": stat {name}: {exc.strerror.lower()}') from exc
        if stat.S_ISDIR(info.st_mode) or not os.access(name, os.X_OK):
            raise NotFound(f'exec: "{name}": permission denied')
        return name
    for directory in (env_path or "").split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise NotFound(f'exec: "{name}": executable file not found in $PATH')


def home_of(uid: int) -> str:
    """The user's home from the container's /etc/passwd, "/" when unknown (runc's default)."""
    try:
        with open("/etc/passwd") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"


def build_env(process: Process) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in process.env:
        key, _, value = entry.partition("=")
        env[key] = value
    if "HOME" not in env:
        env["HOME"] = home_of(process.user.uid)
    return env


def setgroups_allowed() -> bool:
    """In a user namespace whose setgroups is denied, setgroups(2) always fails."""
    try:
        with open("/proc/self/setgroups") as handle:
            return handle.read().strip() != "deny"
    except OSError:
        return True


def finalize(
    calls: sc.Syscalls,
    process: Process,
    masks: caps.CapabilityMasks | None,
    seccomp_filter,
    top_cap: int,
) -> tuple[str, dict[str, str]]:
    """Become the configured user with the configured privileges; return (program, env).

    After this returns, only `exec_program` may run: seccomp may already be in force.
    """
    if process.user.umask is not None:
        os.umask(process.user.umask)
    if seccomp_filter is not None and not process.no_new_privileges:
        seccomp_filter.load()
    if masks is not None:
        caps.drop_bounding(calls, masks.bounding, top_cap)
    try:
        os.chdir(process.cwd)
    except OSError:
        pass  # retried below as the final user, who may be the only one allowed in
    calls.prctl(sc.PR_SET_KEEPCAPS, 1)
    user = process.user
    if setgroups_allowed():
        os.setgroups(list(user.additional_gids))
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
    calls.prctl(sc.PR_SET_KEEPCAPS, 0)
    if masks is not None:
        caps.apply_sets(calls, masks)
    try:
        os.chdir(process.cwd)
    except OSError as exc:
        raise OSError(exc.errno, f"chdir to cwd {process.cwd!r}: {exc.strerror}") from exc
    env = build_env(process)
    program = look_path(process.args[0], env.get("PATH"))
    if process.no_new_privileges:
        calls.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
        if seccomp_filter is not None:
            seccomp_filter.load()
    return program, env


def exec_program(program: str, process: Process, env: dict[str, str]) -> None:
    os.execve(program, list(process.args), env)
