"""Seccomp filters loaded into a real kernel: each test confines a forked child, never pytest."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from estiba.errors import SystemFault
from estiba.runtime import seccomp
from estiba.runtime.seccomp import SeccompConfig

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="loading a seccomp filter without no_new_privs needs root"),
]

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUTS = 0x04000000
SYS_CLONE3 = 435  # x86_64 and aarch64 alike
PR_GET_SECCOMP = 21
SECCOMP_MODE_FILTER = 2
DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]


def run_in_child(body: Callable[[], dict]) -> tuple[int, dict | None]:
    """Fork; the child runs body (which loads a filter) and sends its result back as JSON."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGSYS would dump core
            result = body()
        except BaseException as exc:  # report anything, never return into pytest
            result = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    return status, (json.loads(data) if data else None)


def call_errno(function, *args) -> int:
    """0 if a libc call succeeded, else its errno."""
    ctypes.set_errno(0)
    return 0 if function(*args) >= 0 else ctypes.get_errno()


def os_errno(function, *args) -> int:
    try:
        function(*args)
    except OSError as exc:
        return exc.errno
    return 0


def proc_status() -> dict[str, str]:
    lines = Path("/proc/self/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def deny(*names: str, **extra) -> dict:
    return {"names": list(names), "action": "SCMP_ACT_ERRNO", **extra}


def test_errno_rules_argument_conditions_and_status(tmp_path):
    config = SeccompConfig.from_spec({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            deny("mkdir", "mkdirat"),
            deny("symlink", "symlinkat", errnoRet=errno.ENOSYS),
            deny("unshare", args=[{"index": 0, "value": CLONE_NEWUTS, "valueTwo": CLONE_NEWUTS, "op": "SCMP_CMP_MASKED_EQ"}]),
            # Two conditions on one argument: runc adds two rules, so either value is denied.
            deny("personality", args=[{"index": 0, "value": 0x1234, "op": "SCMP_CMP_EQ"},
                                      {"index": 0, "value": 0x5678, "op": "SCMP_CMP_EQ"}]),
        ],
    })
    built = seccomp.build(config)

    def body() -> dict:
        before = proc_status()
        built.load()
        status = proc_status()
        return {
            "seccomp_before": before["Seccomp"],
            "seccomp": status["Seccomp"],
            "no_new_privs": status["NoNewPrivs"],
            "mkdir": os_errno(os.mkdir, tmp_path / "denied"),
            "symlink": os_errno(os.symlink, "target", tmp_path / "link"),
            "unshare_uts": call_errno(libc.unshare, CLONE_NEWUTS),
            "unshare_nothing": call_errno(libc.unshare, 0),
            "personality_1234": call_errno(libc.personality, ctypes.c_ulong(0x1234)),
            "personality_5678": call_errno(libc.personality, ctypes.c_ulong(0x5678)),
            "personality_query": call_errno(libc.personality, ctypes.c_ulong(0xFFFFFFFF)),
            "open_still_works": os_errno(os.listdir, tmp_path),
        }

    status, result = run_in_child(body)
    built.release()
    assert os.waitstatus_to_exitcode(status) == 0
    assert result == {
        "seccomp_before": "0",
        "seccomp": str(SECCOMP_MODE_FILTER),
        "no_new_privs": "0",  # SCMP_FLTATR_CTL_NNP=0: the filter did not set it behind our back
        "mkdir": errno.EPERM,
        "symlink": errno.ENOSYS,
        "unshare_uts": errno.EPERM,
        "unshare_nothing": 0,
        "personality_1234": errno.EPERM,
        "personality_5678": errno.EPERM,
        "personality_query": 0,
        "open_still_works": 0,
    }
    assert not (tmp_path / "denied").exists()
    assert proc_status()["Seccomp"] == "0"  # pytest itself is untouched


def test_kill_process_action_kills_with_sigsys():
    built = seccomp.build(SeccompConfig.from_spec({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}],
    }))

    def body() -> dict:
        built.load()
        os.getppid()
        return {"survived": True}

    status, result = run_in_child(body)
    built.release()
    assert result is None
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS


def test_flags_are_accepted_by_the_kernel():
    flags = seccomp.supported_flags()
    built = seccomp.build(SeccompConfig.from_spec({
        "defaultAction": "SCMP_ACT_ALLOW", "flags": flags, "syscalls": [deny("mkdir")],
    }))

    def body() -> dict:
        built.load()
        return {"seccomp": proc_status()["Seccomp"]}

    status, result = run_in_child(body)
    built.release()
    assert os.waitstatus_to_exitcode(status) == 0
    assert result == {"seccomp": "2"}


def test_load_without_cap_sys_admin_fails_with_a_hint():
    built = seccomp.build(SeccompConfig.from_spec({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("mkdir")]}))

    def body() -> dict:
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)  # drops every capability, no_new_privs still 0
        try:
            built.load()
        except SystemFault as exc:
            return {"error": type(exc).__name__, "message": str(exc), "seccomp": proc_status()["Seccomp"]}
        return {"loaded": True}

    status, result = run_in_child(body)
    built.release()
    assert os.waitstatus_to_exitcode(status) == 0
    assert result["error"] == "SystemFault" and result["seccomp"] == "0"
    assert "load before dropping capabilities" in result["message"]


def docker_default(capabilities: list[str]) -> seccomp.SeccompFilter:
    oci = seccomp.docker_profile_to_oci(seccomp.default_docker_profile(), capabilities=capabilities)
    return seccomp.build(SeccompConfig.from_spec(oci))


def test_docker_default_profile_denies_namespaces_and_mount_but_runs_programs():
    built = docker_default(DOCKER_DEFAULT_CAPS)
    missing = f"/nonexistent-estiba-{os.getpid()}"

    def body() -> dict:
        built.load()
        pid = os.fork()
        if pid == 0:
            try:
                os.execv("/bin/true", ["/bin/true"])
            finally:
                os._exit(127)
        _, true_status = os.waitpid(pid, 0)
        shell = subprocess.run(["/bin/sh", "-c", "echo hi | cat"], capture_output=True, text=True)
        return {
            "seccomp": proc_status()["Seccomp"],
            "no_new_privs": proc_status()["NoNewPrivs"],
            "unshare": call_errno(libc.unshare, CLONE_NEWUTS),
            # Without the filter this fails with ENOENT (no such mount point); the filter says EPERM.
            "mount": call_errno(libc.mount, b"none", missing.encode(), b"tmpfs", 0, None),
            "clone3": call_errno(libc.syscall, SYS_CLONE3, None, 0),
            "true": os.waitstatus_to_exitcode(true_status),
            "shell": [shell.returncode, shell.stdout],
        }

    status, result = run_in_child(body)
    built.release()
    assert os.waitstatus_to_exitcode(status) == 0
    assert result == {
        "seccomp": "2",
        "no_new_privs": "0",
        "unshare": errno.EPERM,
        "mount": errno.EPERM,
        "clone3": errno.ENOSYS,  # so that glibc falls back to clone
        "true": 0,
        "shell": [0, "hi\n"],
    }


def test_docker_default_profile_with_sys_admin_allows_mount():
    built = docker_default([*DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN"])

    def body() -> dict:
        built.load()
        return {"mount": call_errno(libc.mount, b"none", b"/nonexistent-estiba", b"tmpfs", 0, None)}

    status, result = run_in_child(body)
    built.release()
    assert os.waitstatus_to_exitcode(status) == 0
    assert result == {"mount": errno.ENOENT}


def test_load_works_after_the_host_filesystem_is_gone():
    """The runtime builds before pivot_root and loads after it: load() must open nothing."""
    built = seccomp.build(SeccompConfig.from_spec({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny("mkdir", "mkdirat")]}))
    empty_root = tempfile.mkdtemp(prefix="estiba-seccomp-root-")

    def body() -> dict:
        os.chroot(empty_root)
        os.chdir("/")
        built.load()
        return {"mode": libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0), "mkdir": os_errno(os.mkdir, "/denied")}

    try:
        status, result = run_in_child(body)
    finally:
        built.release()
        os.rmdir(empty_root)
    assert os.waitstatus_to_exitcode(status) == 0
    assert result == {"mode": SECCOMP_MODE_FILTER, "mkdir": errno.EPERM}


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_load_opens_no_file(tmp_path):
    script = textwrap.dedent("""
        import os
        from estiba.runtime import seccomp
        config = seccomp.SeccompConfig.from_spec(seccomp.docker_profile_to_oci(
            seccomp.default_docker_profile(), capabilities=[]))
        built = seccomp.build(config)
        os.write(1, b"BUILT\\n")
        built.load()
        os.write(1, b"LOADED\\n")
    """)
    trace = tmp_path / "trace"
    subprocess.run(
        ["strace", "-f", "-o", str(trace), "-e", "trace=open,openat,openat2,write", sys.executable, "-c", script],
        check=True, capture_output=True,
    )
    lines = trace.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "BUILT" in line)
    end = next(i for i, line in enumerate(lines) if "LOADED" in line)
    assert start < end
    assert [line for line in lines[start:end] if "open" in line] == []
