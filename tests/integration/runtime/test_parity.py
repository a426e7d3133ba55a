"""estiba-runtime against runc: the same bundle, the same observable result.

Each test hands one busybox bundle to estiba-runtime and to runc 1.1.5 (the reference)
and asserts what a user would see: output, exit code, files, state. Tests using
`any_runtime` run once per runtime and assert a fixed expectation; tests that take both
`estiba_runtime` and `runc` compare the two outputs directly, where comparing is the point
(mountinfo, capability sets, `id`, `exec`). Where the two legitimately differ (runc 1.1.5
predates a spec feature, or leaves something writable the spec asks to be read-only) the
test says so and asserts both sides. Needs root; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)


def cid(prefix: str) -> str:
    """A container id no other test (or leftover) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def run_both(estiba_runtime, runc, bundle_of, name: str, **kwargs):
    """Run a fresh bundle from `bundle_of()` through each runtime; (estiba, runc) results."""
    results = []
    for runtime in (estiba_runtime, runc):
        results.append(runtime.run(bundle_of(), cid(name), **kwargs))
    return tuple(results)


def status_lines(text: str, *keys: str) -> dict[str, str]:
    """The named `Key:\tvalue` lines of a /proc/<pid>/status dump."""
    wanted = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in keys:
            wanted[key] = value.strip()
    return wanted


def start_foreground(runtime, bundle: Path, name: str, *extra: str) -> subprocess.Popen:
    """`run` in the foreground without waiting for it; stop() it at the end."""
    runtime.containers.append(name)
    return subprocess.Popen(
        [*runtime.argv, "--root", str(runtime.root), "run", "--bundle", str(bundle), *extra, name],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(runner: subprocess.Popen) -> None:
    if runner.poll() is None:
        runner.kill()
    runner.wait()
    for stream in (runner.stdout, runner.stderr):
        if stream is not None:
            stream.close()


def status_or_none(runtime, name: str) -> str | None:
    """The container's status, or None while `state` cannot tell (not created yet)."""
    result = runtime.cmd("state", name, timeout=10)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)["status"]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class LineReader:
    """Lines of a pipe, read in a thread so that waiting for one can time out."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, predicate, timeout: float) -> list[str]:
        """The lines read up to the first one matching `predicate`, EOF or the deadline."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            if line.strip():
                seen.append(line)
                if predicate(line):
                    break
        return seen


def host_mounts() -> set[tuple[str, str]]:
    """(mount point, fs type) of the host's mounts, to compare before and after."""
    with open("/proc/self/mountinfo") as mountinfo:
        return {(line.split()[4], line.split(" - ")[1].split()[0]) for line in mountinfo}


def cgroup_dirs_named(name: str, max_depth: int = 4) -> list[str]:
    """Directories called `name` anywhere in the host's cgroup hierarchies, down to
    `max_depth`. Other tests make and remove cgroups meanwhile: vanishing ones are skipped."""
    found = []
    for top in Path("/sys/fs/cgroup").iterdir():
        for directory, subdirs, _files in os.walk(top):
            depth = len(Path(directory).relative_to(top).parts)
            if name in subdirs:
                found.append(os.path.join(directory, name))
            if depth >= max_depth - 1:
                subdirs.clear()
    return found


def dead(pid: int) -> bool:
    """Gone, or a zombie: a detached container's process waits for the host's init to
    reap it, which can take a while."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def assert_no_trace(runtime, name: str, mounts_before: set, pid: int | None = None) -> None:
    """No state, no cgroup, no process and no new host mount left by container `name`."""
    assert not (runtime.root / name).exists(), list(runtime.root.iterdir())
    assert runtime.cmd("state", name).returncode != 0
    assert cgroup_dirs_named(name) == []
    if pid is not None:
        assert wait_for(lambda: dead(pid), timeout=5), f"pid {pid} still there"
    # Only mounts that could be this container's (its id, the runtime's root, a bundle's
    # rootfs): other tests mount things meanwhile.
    ours = {m for m in host_mounts() - mounts_before
            if name in m[0] or m[0].startswith((str(runtime.root), "/tmp/estiba-bundles-"))}
    assert ours == set()


# --- 1. the process: PID 1 and exit codes -------------------------------------------


def test_the_program_is_pid_1(any_runtime, make_bundle) -> None:
    result = any_runtime.run(make_bundle(args=sh("echo $$")), cid("pid1"))

    assert (result.returncode, result.stdout) == (0, "1\n"), result.stderr


def test_exit_code_propagates(any_runtime, make_bundle) -> None:
    result = any_runtime.run(make_bundle(args=sh("exit 7")), cid("exit7"))

    assert result.returncode == 7, result.stderr


def test_death_by_signal_is_128_plus_n(any_runtime, make_bundle) -> None:
    # PID 1 of a pid namespace ignores signals it has no handler for, even from inside;
    # only SIGKILL from outside always kills it: `run` in the foreground, `kill` from here.
    name = cid("signal")
    runner = start_foreground(any_runtime, make_bundle(args=["sleep", "30"]), name)
    try:
        assert wait_for(lambda: status_or_none(any_runtime, name) == "running")
        any_runtime.kill(name, "KILL", check=True)
        returncode = runner.wait(timeout=15)
    finally:
        stop(runner)

    assert returncode == 128 + 9


# --- 2. uts -------------------------------------------------------------------------


def test_hostname_comes_from_config(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=["hostname"], hostname="parity-host")

    result = any_runtime.run(bundle, cid("uts"))

    assert (result.returncode, result.stdout) == (0, "parity-host\n"), result.stderr


def test_domainname_comes_from_config(estiba_runtime, runc, make_bundle) -> None:
    # The spec says to set it; runc 1.1.5 predates its support (runc 1.2) and leaves the
    # new uts namespace's "(none)". estiba-runtime follows the spec here.
    def bundle():
        return make_bundle(args=["cat", "/proc/sys/kernel/domainname"], domainname="parity.example")

    ours, theirs = run_both(estiba_runtime, runc, bundle, "domain")

    assert (ours.returncode, ours.stdout) == (0, "parity.example\n"), ours.stderr
    assert (theirs.returncode, theirs.stdout) == (0, "(none)\n"), theirs.stderr


# --- 3. the mount table, masked and read-only paths ---------------------------------


def mount_table(mountinfo: str) -> set[tuple[str, str, str, str, str]]:
    """(mount point, fs type, mount options, fs root, super options) for each mountinfo line.

    Mount ids, device numbers and sources differ legitimately between two containers;
    so does the fs root of "/" (the bundle's path) and of the cgroup mounts (each runtime
    picks its own default cgroupsPath).
    """
    table = set()
    for line in mountinfo.splitlines():
        fields, _, rest = line.partition(" - ")
        _id, _parent, _dev, fs_root, mount_point, options = fields.split()[:6]
        fs_type, _source, super_options = rest.split()
        if mount_point == "/" or fs_type == "cgroup":
            fs_root = "-"
        table.add((mount_point, fs_type, options, fs_root, super_options))
    return table


def test_mountinfo_matches_runc_for_the_default_spec(estiba_runtime, runc, make_bundle) -> None:
    ours, theirs = run_both(
        estiba_runtime, runc, lambda: make_bundle(args=["cat", "/proc/self/mountinfo"]), "mounts"
    )
    assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
    ours_table, theirs_table = mount_table(ours.stdout), mount_table(theirs.stdout)

    # runc 1.1.5 leaves the tmpfs that holds the v1 cgroup mounts writable although the
    # spec's /sys/fs/cgroup mount says "ro"; estiba-runtime mounts it read-only as asked.
    # Everything else is the same.
    differences = ours_table ^ theirs_table
    assert {row[0] for row in differences} <= {"/sys/fs/cgroup"}, differences
    if differences:
        (ours_row,), (theirs_row,) = ours_table & differences, theirs_table & differences
        assert ours_row[1] == theirs_row[1] == "tmpfs"
        assert ours_row[2] == theirs_row[2].replace("rw,", "ro,", 1)


def test_mountinfo_matches_runc_with_bind_and_tmpfs_mounts(
    estiba_runtime, runc, make_bundle, tmp_path
) -> None:
    source = tmp_path / "shared"
    (source / "sub").mkdir(parents=True)
    (source / "file").write_text("from the host\n")
    extra = [
        {"destination": "/data", "type": "bind", "source": str(source), "options": ["rbind", "ro"]},
        {"destination": "/etc/hostfile", "type": "bind", "source": str(source / "file"), "options": ["bind"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["noexec", "size=1m", "mode=1777"]},
        {"destination": "/mnt/a/b", "type": "tmpfs", "source": "tmpfs"},  # parents made on the way
    ]
    script = (
        "cat /proc/self/mountinfo; cat /etc/hostfile;"
        " touch /data/x 2>/dev/null || echo ro; stat -c %a /scratch"
    )

    def bundle():
        def add_mounts(spec):
            spec["mounts"] += extra
        return make_bundle(add_mounts, args=sh(script))

    ours, theirs = run_both(estiba_runtime, runc, bundle, "binds")

    assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
    tail = ["from the host", "ro", "1777"]
    assert ours.stdout.splitlines()[-3:] == theirs.stdout.splitlines()[-3:] == tail
    ours_table = mount_table("\n".join(ours.stdout.splitlines()[:-3]))
    theirs_table = mount_table("\n".join(theirs.stdout.splitlines()[:-3]))
    assert {row[0] for row in ours_table ^ theirs_table} <= {"/sys/fs/cgroup"}
    assert {"/data", "/etc/hostfile", "/scratch", "/mnt/a/b"} <= {row[0] for row in ours_table}


def test_sysctl_is_written_before_proc_sys_turns_read_only(any_runtime, make_bundle) -> None:
    bundle = make_bundle(
        args=sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"),
        linux={"sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}},
    )

    result = any_runtime.run(bundle, cid("sysctl"))

    assert (result.returncode, result.stdout) == (0, "1\n1234\n"), result.stderr


MASKED_FILES = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]


def test_masked_paths_read_empty(any_runtime, make_bundle) -> None:
    # A masked file is /dev/null bound over it (reads give nothing); a masked directory
    # is an empty read-only tmpfs. Paths this kernel lacks are skipped, as by runc.
    script = "; ".join(f"test -e {p} && wc -c < {p}" for p in MASKED_FILES)
    script += "; echo dirs:$(ls -A /proc/acpi /sys/firmware); touch /proc/acpi/x 2>/dev/null || echo ro"

    result = any_runtime.run(make_bundle(args=sh(script)), cid("masked"))

    present = [p for p in MASKED_FILES if os.path.exists(p)]
    counts = result.stdout.split()
    expected = ["0"] * len(present) + ["dirs:/proc/acpi:", "/sys/firmware:", "ro"]
    assert counts == expected, (result.stdout, result.stderr)


def test_readonly_paths_refuse_writes(any_runtime, make_bundle) -> None:
    script = (
        "echo 1 > /proc/sys/kernel/ns_last_pid && echo wrote-sys;"
        " echo parity > /proc/sys/kernel/hostname && echo wrote-hostname;"
        " cat /proc/sys/kernel/ostype"
    )

    result = any_runtime.run(make_bundle(args=sh(script)), cid("readonly"))

    assert result.stdout == "Linux\n", result.stderr
    assert result.stderr.count("Read-only file system") == 2, result.stderr


# --- 4. capabilities ----------------------------------------------------------------

CAP_LINES = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
EXTRA_CAPS = [*DEFAULT_CAPS, "CAP_SYS_ADMIN", "CAP_NET_ADMIN"]


def all_sets(names: list[str]) -> dict[str, dict[str, list[str]]]:
    sets = ("bounding", "effective", "permitted", "inheritable", "ambient")
    return {"capabilities": {name: list(names) for name in sets}}


@pytest.mark.parametrize(
    "process",
    [{}, all_sets(EXTRA_CAPS), {"user": {"uid": 1000, "gid": 1000}, **all_sets(EXTRA_CAPS)}],
    ids=["default", "extra-caps", "extra-caps-non-root"],
)
def test_capability_sets_match_runc(estiba_runtime, runc, make_bundle, process) -> None:
    def bundle():
        return make_bundle(args=["cat", "/proc/self/status"], process=process)

    ours, theirs = run_both(estiba_runtime, runc, bundle, "caps")

    assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
    assert status_lines(ours.stdout, *CAP_LINES) == status_lines(theirs.stdout, *CAP_LINES)


def test_extra_capabilities_reach_every_set(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=["cat", "/proc/self/status"], process=all_sets(EXTRA_CAPS))

    result = any_runtime.run(bundle, cid("capsall"))

    # AUDIT_WRITE 29, KILL 5, NET_BIND_SERVICE 10, NET_ADMIN 12, SYS_ADMIN 21
    expected = f"{(1 << 29) | (1 << 5) | (1 << 10) | (1 << 12) | (1 << 21):016x}"
    assert status_lines(result.stdout, *CAP_LINES) == dict.fromkeys(CAP_LINES, expected)


# --- 5. seccomp ---------------------------------------------------------------------


def docker_seccomp(capabilities: list[str]) -> dict:
    from estiba.runtime.seccomp import default_docker_profile, docker_profile_to_oci

    return docker_profile_to_oci(default_docker_profile(), capabilities=capabilities)


@pytest.mark.parametrize(
    "process",
    [{}, {"noNewPrivileges": False}, {"noNewPrivileges": False, "user": {"uid": 1000, "gid": 1000}}],
    ids=["no-new-privs", "privileged-load", "privileged-load-non-root"],
)
def test_docker_profile_filters_the_process(any_runtime, make_bundle, process) -> None:
    # Without no_new_privs the filter must be loaded while CAP_SYS_ADMIN is still held.
    bundle = make_bundle(
        args=sh("grep ^Seccomp: /proc/self/status; unshare -u true"),
        process=process,
        linux={"seccomp": docker_seccomp(DEFAULT_CAPS)},
    )

    result = any_runtime.run(bundle, cid("seccomp"))

    assert result.stdout == "Seccomp:\t2\n", result.stderr
    assert result.returncode != 0
    assert "Operation not permitted" in result.stderr


def test_docker_profile_denies_mount_without_sys_admin_in_it(any_runtime, make_bundle) -> None:
    # The capability is granted, but the profile was rendered for the default set, so it
    # keeps mount(2) out; without the profile the same mount works.
    mount = sh("mount -t tmpfs none /tmp && echo mounted")
    filtered = make_bundle(
        args=mount, process=all_sets(EXTRA_CAPS), linux={"seccomp": docker_seccomp(DEFAULT_CAPS)}
    )
    unfiltered = make_bundle(args=mount, process=all_sets(EXTRA_CAPS))

    denied = any_runtime.run(filtered, cid("seccomp-mount"))
    allowed = any_runtime.run(unfiltered, cid("no-seccomp-mount"))

    # busybox mount words EPERM as "permission denied (are you root?)"
    assert denied.returncode != 0 and "permission denied" in denied.stderr, denied
    assert (allowed.returncode, allowed.stdout) == (0, "mounted\n"), allowed.stderr


def test_docker_profile_for_sys_admin_allows_mount(any_runtime, make_bundle) -> None:
    bundle = make_bundle(
        args=sh("mount -t tmpfs none /tmp && echo mounted"),
        process=all_sets(EXTRA_CAPS),
        linux={"seccomp": docker_seccomp(EXTRA_CAPS)},
    )

    result = any_runtime.run(bundle, cid("seccomp-admin"))

    assert (result.returncode, result.stdout) == (0, "mounted\n"), result.stderr


@pytest.mark.parametrize(
    "errno_ret, message", [(1, "Operation not permitted"), (28, "No space left on device")]
)
def test_custom_profile_denies_mkdir_with_its_errno(any_runtime, make_bundle, errno_ret, message) -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret}
        ],
    }
    bundle = make_bundle(args=sh("mkdir /dev/shm/d; echo rc=$?; touch /dev/shm/f && echo touched"),
                         linux={"seccomp": profile})

    result = any_runtime.run(bundle, cid("seccomp-mkdir"))

    assert result.stdout == "rc=1\ntouched\n", result.stderr
    assert message in result.stderr


def test_seccomp_actions_and_argument_conditions_match_runc(estiba_runtime, runc, make_bundle) -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            # kill(pid, SIGUSR1) only: the signal number is the second argument
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"},
            {"names": ["rmdir"], "action": "SCMP_ACT_TRAP"},
            {"names": ["uname"], "action": "SCMP_ACT_LOG"},
        ],
    }
    script = (
        "sleep 10 & p=$!; kill -0 $p && echo zero-ok; kill -USR1 $p; echo usr1=$?;"
        " kill -9 $p; echo kill9=$?; mkdir /dev/shm/x; echo mkdir=$?; rmdir /dev/shm; echo rmdir=$?;"
        " uname -s"
    )
    if os.uname().machine != "x86_64":
        pytest.skip("the profile names x86 architectures")

    def bundle():
        return make_bundle(args=sh(script), linux={"seccomp": profile})

    ours, theirs = run_both(estiba_runtime, runc, bundle, "seccomp-actions")

    expected = "zero-ok\nusr1=1\nkill9=0\nmkdir=159\nrmdir=159\nLinux\n"  # 159 = 128 + SIGSYS
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout) == (0, expected)
    normalized = [re.sub(r"pid \d+", "pid N", r.stderr) for r in (ours, theirs)]
    assert normalized[0] == normalized[1]


# --- 6. no_new_privs ----------------------------------------------------------------


@pytest.mark.parametrize("no_new_privileges, expected", [(True, "1"), (False, "0")])
def test_no_new_privs_follows_the_spec(any_runtime, make_bundle, no_new_privileges, expected) -> None:
    bundle = make_bundle(args=["grep", "^NoNewPrivs:", "/proc/self/status"],
                         process={"noNewPrivileges": no_new_privileges})

    result = any_runtime.run(bundle, cid("nnp"))

    assert result.stdout == f"NoNewPrivs:\t{expected}\n", result.stderr


# --- 7. user, groups, umask, cwd, environment ---------------------------------------


@pytest.mark.parametrize(
    "user",
    [
        {"uid": 1000, "gid": 1000, "additionalGids": [2000, 100]},
        {"uid": 4242, "gid": 4343, "additionalGids": [5000]},  # ids /etc/passwd doesn't know
        {"uid": 0, "gid": 0},
    ],
    ids=["with-groups", "unknown-ids", "root"],
)
def test_id_matches_runc(estiba_runtime, runc, make_bundle, user) -> None:
    script = "id; grep -E '^(Uid|Gid|Groups):' /proc/self/status"

    ours, theirs = run_both(
        estiba_runtime, runc, lambda: make_bundle(args=sh(script), process={"user": user}), "id"
    )

    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), ours.stderr
    assert ours.stdout.startswith(f"uid={user['uid']}")


def test_id_with_additional_groups(any_runtime, make_bundle) -> None:
    user = {"uid": 1000, "gid": 1000, "additionalGids": [2000, 100]}
    bundle = make_bundle(args=["id"], process={"user": user})

    result = any_runtime.run(bundle, cid("groups"))

    # The supplementary groups are exactly additionalGids: the primary gid is not added.
    assert result.stdout == "uid=1000(estiba) gid=1000(estiba) groups=100(users),2000(extra)\n", result.stderr


@pytest.mark.parametrize("umask, expected", [(None, "0022"), (0o077, "0077")])
def test_umask(any_runtime, make_bundle, umask, expected) -> None:
    user = {"uid": 0, "gid": 0} | ({} if umask is None else {"umask": umask})
    bundle = make_bundle(args=sh("umask"), process={"user": user})

    result = any_runtime.run(bundle, cid("umask"))

    assert result.stdout == f"{expected}\n", result.stderr


def test_cwd_and_env(estiba_runtime, runc, make_bundle) -> None:
    def bundle():
        return make_bundle(
            args=sh("pwd; env | sort"),
            process={"cwd": "/usr/bin", "env": ["PATH=/bin:/usr/bin", "GREETING=hello world", "EMPTY="]},
        )

    ours, theirs = run_both(estiba_runtime, runc, bundle, "env")

    assert ours.stdout == theirs.stdout, (ours.stderr, theirs.stderr)
    assert ours.stdout.splitlines()[0] == "/usr/bin"
    assert "GREETING=hello world" in ours.stdout.splitlines()


@pytest.mark.parametrize(
    "user, env, home",
    [
        ({"uid": 0, "gid": 0}, [], "/root"),
        ({"uid": 1000, "gid": 1000}, [], "/home/estiba"),
        ({"uid": 4242, "gid": 4242}, [], "/"),  # not in /etc/passwd
        ({"uid": 1000, "gid": 1000}, ["HOME=/custom"], "/custom"),
    ],
    ids=["root", "estiba", "unknown", "explicit"],
)
def test_home_defaults_from_etc_passwd(any_runtime, make_bundle, user, env, home) -> None:
    bundle = make_bundle(args=sh('echo "$HOME"'),
                         process={"user": user, "env": ["PATH=/bin", *env]})

    result = any_runtime.run(bundle, cid("home"))

    assert result.stdout == f"{home}\n", result.stderr


def test_cwd_is_created_when_missing(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=["pwd"], process={"cwd": "/var/new/dir"})

    result = any_runtime.run(bundle, cid("cwd"))

    assert (result.returncode, result.stdout) == (0, "/var/new/dir\n"), result.stderr


# --- 8. rlimits ---------------------------------------------------------------------


def test_rlimit_nofile_below_the_hard_limit(any_runtime, make_bundle) -> None:
    bundle = make_bundle(
        args=sh("ulimit -n; ulimit -Hn"),
        process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 2048}]},
    )

    result = any_runtime.run(bundle, cid("nofile"))

    assert (result.returncode, result.stdout) == (0, "512\n2048\n"), result.stderr


def raised_limit() -> dict:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("RLIMIT_NOFILE has no hard limit here to exceed")
    return {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard * 2}


def test_rlimit_above_the_hard_limit_fails_in_both(estiba_runtime, runc, make_bundle) -> None:
    # Raising a hard limit needs CAP_SYS_RESOURCE, which this sandbox lacks; where it is
    # granted both runtimes succeed instead, so only agreement is asserted.
    limit = raised_limit()

    def bundle():
        return make_bundle(args=["true"], process={"rlimits": [limit]})

    ours, theirs = run_both(estiba_runtime, runc, bundle, "rlimit-high")

    assert (ours.returncode == 0) == (theirs.returncode == 0), (ours.stderr, theirs.stderr)


def test_rlimit_failure_is_one_line_and_leaves_nothing(estiba_runtime, make_bundle) -> None:
    limit = raised_limit()
    if estiba_has_cap_sys_resource():
        pytest.skip("this host grants CAP_SYS_RESOURCE: raising the limit works")
    name = cid("rlimit-high")
    mounts_before = host_mounts()

    result = estiba_runtime.run(make_bundle(args=["true"], process={"rlimits": [limit]}), name)

    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "RLIMIT_NOFILE" in lines[0] and "CAP_SYS_RESOURCE" in lines[0], lines[0]
    assert_no_trace(estiba_runtime, name, mounts_before)


def estiba_has_cap_sys_resource() -> bool:
    with open("/proc/self/status") as status:
        effective = int(status_lines(status.read(), "CapEff")["CapEff"], 16)
    return bool(effective & (1 << 24))


# --- 9. memory: OOM kills -----------------------------------------------------------

MEMORY_32M = {"resources": {"memory": {"limit": 32 << 20, "swap": 32 << 20}}}
# tail keeps the last lines in memory; /dev/zero has no line end, so its buffer grows.
ALLOCATE_FOREVER = ["tail", "/dev/zero"]


def test_allocating_past_the_memory_limit_is_oom_killed(estiba_runtime, runc, make_bundle) -> None:
    def bundle():
        return make_bundle(args=ALLOCATE_FOREVER, linux=MEMORY_32M)

    ours, theirs = run_both(estiba_runtime, runc, bundle, "oom", timeout=60)

    assert ours.returncode == theirs.returncode == 128 + 9, (ours.stderr, theirs.stderr)
    assert "OOM" in ours.stderr and ours.stderr.count("\n") == 1, ours.stderr


def test_the_same_program_fits_without_the_limit_running_out(any_runtime, make_bundle) -> None:
    # The control: a bounded allocation of 8 MiB under the same 32 MiB limit survives.
    bundle = make_bundle(args=sh('x=$(head -c 8000000 /dev/zero | tr "\\0" a); echo ${#x}'),
                         linux=MEMORY_32M)

    result = any_runtime.run(bundle, cid("fits"))

    assert (result.returncode, result.stdout) == (0, "8000000\n"), result.stderr


def test_events_reports_the_oom_kill(any_runtime, make_bundle) -> None:
    # The shell outlives the killed `tail` for a moment, so the event is seen while the
    # container still runs.
    name = cid("oom-events")
    bundle = make_bundle(args=sh("tail /dev/zero; sleep 1"), linux=MEMORY_32M)
    any_runtime.create(bundle, name, check=True)
    events = subprocess.Popen(
        [*any_runtime.argv, "--root", str(any_runtime.root), "events", "--interval", "10s", name],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        # runc's `events` goes on after the container stops (until it is deleted), so
        # lines are read until the oom event, with a deadline.
        lines = LineReader(events.stdout)
        time.sleep(0.3)  # let `events` take its first look before the container runs
        any_runtime.start(name, check=True)
        seen = lines.until(lambda line: json.loads(line)["type"] == "oom", timeout=30)
    finally:
        stop(events)

    assert any(json.loads(line)["type"] == "oom" for line in seen), seen


# --- 10. pids limit -----------------------------------------------------------------


def test_fork_bomb_stops_at_the_pids_limit(any_runtime, make_bundle) -> None:
    # ash gives up at its first failed fork, so the bomb runs in a child shell while PID 1
    # waits with builtins only (a fork of its own could fail too), then reads the counters.
    bomb = 'trap "echo > /dev/shm/done" EXIT; for i in $(seq 30); do sleep 3 & done; wait'
    script = (
        f"sh -c '{bomb}' & while [ ! -e /dev/shm/done ]; do :; done;"
        " cd /sys/fs/cgroup/pids; read max < pids.max; read current < pids.current;"
        " peak=none; [ -e pids.peak ] && read peak < pids.peak;"
        " echo max=$max current=$current peak=$peak"
    )
    bundle = make_bundle(args=sh(script), linux={"resources": {"pids": {"limit": 10}}})

    result = any_runtime.run(bundle, cid("pids"), timeout=30)

    assert result.returncode == 0, result.stderr
    assert "can't fork: Resource temporarily unavailable" in result.stderr
    counters = dict(item.split("=") for item in result.stdout.split())
    assert counters["max"] == "10"
    assert int(counters["current"]) <= 10
    assert counters["peak"] in ("none", "10"), counters


# --- 11. user namespace -------------------------------------------------------------

USERNS = {
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "user")],
}


def test_user_namespace_maps_ids(any_runtime, make_bundle) -> None:
    # make_bundle's rootfs sits under 0755 directories in /tmp, so uid 100000 reaches it.
    script = "cat /proc/self/uid_map /proc/self/gid_map; id; stat -c %u:%g /bin/busybox"

    result = any_runtime.run(make_bundle(args=sh(script), linux=USERNS), cid("userns"))

    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert lines == [
        "0 100000 65536",
        "0 100000 65536",
        "uid=0(root) gid=0(root)",
        "65534:65534",  # owned by host root, which the namespace does not map
    ]


def test_user_namespace_matches_runc(estiba_runtime, runc, make_bundle) -> None:
    script = "grep -E '^(Uid|Gid|Groups|Cap...):' /proc/self/status; cat /proc/self/mountinfo"

    def bundle():
        return make_bundle(args=sh(script), linux=USERNS)

    ours, theirs = run_both(estiba_runtime, runc, bundle, "userns")

    assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
    status = ("Uid", "Gid", "Groups", *CAP_LINES)
    assert status_lines(ours.stdout, *status) == status_lines(theirs.stdout, *status)
    mounts = [line for line in ours.stdout.splitlines() if " - " in line]
    their_mounts = [line for line in theirs.stdout.splitlines() if " - " in line]
    differences = mount_table("\n".join(mounts)) ^ mount_table("\n".join(their_mounts))
    assert {row[0] for row in differences} <= {"/sys/fs/cgroup"}, differences


def test_host_sees_the_container_process_as_the_mapped_uid(any_runtime, make_bundle) -> None:
    name = cid("userns-host")
    any_runtime.create(make_bundle(args=["sleep", "30"], linux=USERNS), name, check=True)
    pid = any_runtime.state(name)["pid"]

    uids = status_lines(Path(f"/proc/{pid}/status").read_text(), "Uid")["Uid"].split()

    assert uids == ["100000"] * 4


# --- 12. joining namespaces by path -------------------------------------------------


def without_hostname(spec: dict) -> None:
    # Joined uts namespace: setting a hostname would rename the other container's.
    spec.pop("hostname", None)


def test_join_network_and_uts_namespaces_by_path(any_runtime, make_bundle) -> None:
    first = cid("ns-owner")
    any_runtime.create(make_bundle(args=["sleep", "30"], hostname="owner-host"), first, check=True)
    owner_pid = any_runtime.state(first)["pid"]
    owner_net = os.readlink(f"/proc/{owner_pid}/ns/net")

    namespaces = [
        {"type": "pid"}, {"type": "ipc"}, {"type": "mount"},
        {"type": "network", "path": f"/proc/{owner_pid}/ns/net"},
        {"type": "uts", "path": f"/proc/{owner_pid}/ns/uts"},
    ]
    joiner = make_bundle(without_hostname, args=sh("hostname; readlink /proc/self/ns/net"),
                         linux={"namespaces": namespaces})
    result = any_runtime.run(joiner, cid("ns-joiner"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["owner-host", owner_net]
    assert owner_net != os.readlink("/proc/self/ns/net")
    assert any_runtime.state(first)["status"] == "created"


# --- 13. lifecycle: state, kill, delete, cleanup ------------------------------------


def statuses_through_a_lifecycle(runtime, bundle: Path) -> list:
    """What `state` says after create, start and exit, and whether it fails after delete."""
    name = cid("life")
    seen = []
    runtime.create(bundle, name, check=True)
    created = runtime.state(name)
    seen.append((created["status"], created["pid"] > 0))
    runtime.start(name, check=True)
    running = runtime.state(name)
    seen.append((running["status"], running["pid"] == created["pid"]))
    Path(bundle, "rootfs", "tmp", "go").touch()  # the program exits when it sees this
    assert wait_for(lambda: runtime.state(name)["status"] == "stopped")
    seen.append(("stopped", runtime.state(name)["pid"]))
    seen.append(("start again fails", runtime.start(name).returncode != 0))
    seen.append(("kill fails", runtime.kill(name).returncode != 0))
    runtime.delete(name, check=True)
    seen.append(("gone", runtime.cmd("state", name).returncode != 0))
    return seen


def test_state_transitions_match_runc(estiba_runtime, runc, make_bundle) -> None:
    script = "while [ ! -e /tmp/go ]; do sleep 0.1; done"

    def bundle():
        return make_bundle(args=sh(script), root={"path": "rootfs", "readonly": False})

    ours = statuses_through_a_lifecycle(estiba_runtime, bundle())
    theirs = statuses_through_a_lifecycle(runc, bundle())

    assert ours == theirs == [
        ("created", True),
        ("running", True),
        ("stopped", 0),
        ("start again fails", True),
        ("kill fails", True),
        ("gone", True),
    ]


def test_state_reports_the_same_fields(estiba_runtime, runc, make_bundle) -> None:
    states = []
    for runtime in (estiba_runtime, runc):
        name = cid("fields")
        bundle = make_bundle(args=["sleep", "30"])
        runtime.create(bundle, name, check=True)
        state = runtime.state(name)
        states.append(state)
        assert (state["id"], state["status"], state["bundle"]) == (name, "created", str(bundle))
        assert state["rootfs"] == str(bundle / "rootfs")
        assert Path(f"/proc/{state['pid']}").exists()
    ours, theirs = states
    # runc leaves out empty annotations (optional in the spec); the rest are the same keys.
    assert set(ours) - {"annotations"} == set(theirs) - {"annotations"}


@pytest.mark.parametrize("signal_name", ["TERM"])
def test_kill_with_a_handled_signal(any_runtime, make_bundle, signal_name) -> None:
    name = cid("term")
    trap = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.1; done"
    any_runtime.run(make_bundle(args=sh(trap)), name, "-d", check=True)
    assert wait_for(lambda: "ready" in any_runtime.output(name))

    any_runtime.kill(name, signal_name, check=True)

    assert wait_for(lambda: any_runtime.state(name)["status"] == "stopped")
    assert "got-term" in any_runtime.output(name)


@pytest.mark.parametrize("signal_name", ["SIGKILL", "9"])
def test_kill_stops_the_container(any_runtime, make_bundle, signal_name) -> None:
    name = cid("kill")
    any_runtime.run(make_bundle(args=["sleep", "30"]), name, "-d", check=True)
    pid = any_runtime.state(name)["pid"]

    any_runtime.kill(name, signal_name, check=True)

    assert wait_for(lambda: any_runtime.state(name)["status"] == "stopped")
    assert wait_for(lambda: dead(pid))


def test_kill_with_an_unknown_signal_fails(any_runtime, make_bundle) -> None:
    name = cid("badsig")
    any_runtime.run(make_bundle(args=["sleep", "30"]), name, "-d", check=True)

    result = any_runtime.kill(name, "NOSUCHSIG")

    assert result.returncode != 0
    assert any_runtime.state(name)["status"] == "running"


def container_pids(runtime, name: str) -> set[int]:
    """Host pids of the processes in the container's pids cgroup, found from its init."""
    pid = runtime.state(name)["pid"]
    relative = next(
        line.split(":", 2)[2]
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        if line.split(":")[1] == "pids"
    )
    procs = Path("/sys/fs/cgroup/pids", relative.lstrip("/"), "cgroup.procs")
    return {int(p) for p in procs.read_text().split()}


def test_kill_all_signals_every_process(any_runtime, make_bundle) -> None:
    name = cid("killall")
    bundle = make_bundle(args=sh("sleep 30 & sleep 30 & echo started; wait"))
    any_runtime.run(bundle, name, "-d", check=True)
    assert wait_for(lambda: "started" in any_runtime.output(name))
    assert wait_for(lambda: len(container_pids(any_runtime, name)) == 3)
    pids = container_pids(any_runtime, name)

    any_runtime.kill(name, "KILL", "--all", check=True)

    assert wait_for(lambda: all(dead(p) for p in pids)), pids
    assert wait_for(lambda: any_runtime.state(name)["status"] == "stopped")


def test_delete_of_a_running_container_needs_force(any_runtime, make_bundle) -> None:
    name = cid("nodelete")
    any_runtime.run(make_bundle(args=["sleep", "30"]), name, "-d", check=True)

    result = any_runtime.delete(name)

    state = any_runtime.state(name)
    assert result.returncode != 0, (result, state)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert state["status"] == "running", (result, state)


def test_kill_a_created_container(any_runtime, make_bundle) -> None:
    name = cid("kill-created")
    any_runtime.create(make_bundle(args=["sleep", "30"]), name, check=True)

    any_runtime.kill(name, "KILL", check=True)

    assert wait_for(lambda: any_runtime.state(name)["status"] == "stopped")
    assert any_runtime.start(name).returncode != 0


def test_delete_of_a_created_container_needs_no_force(any_runtime, make_bundle) -> None:
    # runc kills a created container's waiting process on a plain delete.
    name = cid("delete-created")
    mounts_before = host_mounts()
    any_runtime.create(make_bundle(args=["sleep", "30"]), name, check=True)
    pid = any_runtime.state(name)["pid"]

    any_runtime.delete(name, check=True)

    assert_no_trace(any_runtime, name, mounts_before, pid)


@pytest.mark.parametrize("phase", ["created", "running", "stopped"])
def test_delete_leaves_nothing_behind(any_runtime, make_bundle, phase) -> None:
    name = cid(f"cleanup-{phase}")
    mounts_before = host_mounts()
    script = "sleep 30 & exec sleep 30" if phase != "stopped" else "true"
    any_runtime.create(make_bundle(args=sh(script)), name, check=True)
    pid = any_runtime.state(name)["pid"]
    assert cgroup_dirs_named(name), "the container should have cgroups while it exists"
    if phase != "created":
        any_runtime.start(name, check=True)
    if phase == "stopped":
        assert wait_for(lambda: any_runtime.state(name)["status"] == "stopped")

    any_runtime.delete(name, force=phase != "stopped", check=True)

    assert_no_trace(any_runtime, name, mounts_before, pid)


@pytest.fixture
def parity_cgroup_parent():
    """A parent cgroup name for bundles with a cgroupsPath; removed (when empty) after."""
    parent = f"estiba-parity-{uuid.uuid4().hex[:6]}"
    yield parent
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        try:
            (hierarchy / parent).rmdir()
        except OSError:
            pass


def test_delete_removes_the_bundles_cgroups_path(any_runtime, make_bundle, parity_cgroup_parent) -> None:
    name = cid("cgpath")
    cgroups_path = f"/{parity_cgroup_parent}/{name}"
    bundle = make_bundle(args=["sleep", "30"], linux={"cgroupsPath": cgroups_path, **MEMORY_32M})
    mounts_before = host_mounts()
    any_runtime.run(bundle, name, "-d", check=True)
    pid = any_runtime.state(name)["pid"]
    for controller in ("pids", "memory", "cpu", "devices"):
        procs = Path("/sys/fs/cgroup", controller, cgroups_path.lstrip("/"), "cgroup.procs")
        assert procs.read_text().split() == [str(pid)], controller
    limit = Path("/sys/fs/cgroup/memory", cgroups_path.lstrip("/"), "memory.limit_in_bytes")
    assert limit.read_text() == f"{32 << 20}\n"

    any_runtime.delete(name, force=True, check=True)

    assert_no_trace(any_runtime, name, mounts_before, pid)
    assert not [str(h) for h in Path("/sys/fs/cgroup").iterdir() if (h / cgroups_path.lstrip("/")).exists()]


def test_run_leaves_nothing_behind(any_runtime, make_bundle) -> None:
    name = cid("cleanup-run")
    mounts_before = host_mounts()

    result = any_runtime.run(make_bundle(args=sh("sleep 30 & echo $$")), name)

    assert (result.returncode, result.stdout) == (0, "1\n"), result.stderr
    assert_no_trace(any_runtime, name, mounts_before)


# --- exec ---------------------------------------------------------------------------

EXEC_CASES = {
    "as-the-container": ([], "id; pwd; env | sort; umask; grep -E '^(Cap|NoNewPrivs)' /proc/self/status"),
    "user-uid-only": (["--user", "1000"], "id"),
    "user-root": (["--user", "0:0"], "id"),
    "more-groups": (["--user", "1000:1000", "--additional-gids", "100"], "id"),
    "cap": (["--cap", "CAP_SYS_ADMIN"], "grep ^Cap /proc/self/status"),
    "cap-as-root": (["--user", "0:0", "--cap", "CAP_SYS_ADMIN"], "grep ^Cap /proc/self/status"),
    "cwd-env": (["--cwd", "/usr", "--env", "X=1"], 'pwd; echo "$HOME $X"'),
    "no-new-privs": (["--no-new-privs"], "grep ^NoNewPrivs /proc/self/status"),
    "exit-code": ([], "exit 5"),
}


def test_exec_matches_runc(estiba_runtime, runc, make_bundle) -> None:
    process = {
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [2000]},
        "cwd": "/tmp",
        "env": ["PATH=/bin:/usr/bin", "FOO=bar"],
        "noNewPrivileges": False,
    }
    results = {}
    for runtime in (estiba_runtime, runc):
        name = cid("exec")
        runtime.run(make_bundle(args=["sleep", "30"], process=process), name, "-d", check=True)
        results[runtime.name] = {
            case: runtime.exec(name, "sh", "-c", script, opts=opts)
            for case, (opts, script) in EXEC_CASES.items()
        }
        results[runtime.name]["missing-binary"] = runtime.exec(name, "nosuchbinary")

    for case, ours in results["estiba"].items():
        theirs = results["runc"][case]
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), (case, ours, theirs)


# --- run: signals ------------------------------------------------------------------


def test_run_forwards_signals_to_the_container(any_runtime, make_bundle) -> None:
    name = cid("forward")
    trap = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.1; done"
    runner = start_foreground(any_runtime, make_bundle(args=sh(trap)), name)
    try:
        # Read in a thread: if the runtime died, the container would keep the pipe open.
        lines = LineReader(runner.stdout)
        assert lines.until(lambda line: line == "ready\n", timeout=15) == ["ready\n"]
        runner.send_signal(signal.SIGTERM)
        returncode = runner.wait(timeout=15)
        output = lines.until(lambda line: False, timeout=5)
    finally:
        stop(runner)

    assert (returncode, output) == (3, ["got-term\n"])


def test_a_signal_during_create_is_forwarded_not_fatal(any_runtime, make_bundle, tmp_path) -> None:
    # The signal comes while a createRuntime hook runs, before the program has started:
    # runc holds it and passes it on; it must neither kill the runtime (which would leave
    # the container orphaned) nor get lost.
    name = cid("early-signal")
    flag = tmp_path / "in-hook"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", f"touch {flag}; sleep 0.5"]}
    trap = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.1; done"
    bundle = make_bundle(args=sh(trap), hooks={"createRuntime": [hook]})
    runner = start_foreground(any_runtime, bundle, name)
    try:
        lines, errors = LineReader(runner.stdout), LineReader(runner.stderr)
        assert wait_for(flag.exists, timeout=15)
        runner.send_signal(signal.SIGTERM)
        started = lines.until(lambda line: line == "ready\n", timeout=15)
        if runner.poll() is None:
            # PID 1 drops the signal if it comes before its trap is set: end it here.
            any_runtime.kill(name, "KILL")
        returncode = runner.wait(timeout=15)
        stderr = errors.until(lambda line: False, timeout=1)
    finally:
        stop(runner)

    assert returncode != -signal.SIGTERM, "the runtime itself died of the signal"
    if any_runtime.name == "runc" and not started:
        return  # runc's own (Go) init may die of the forwarded signal before execve
    # The program ran, and got the signal or lost it before its trap was set (killed here).
    assert started == ["ready\n"], stderr
    assert returncode in (3, 128 + signal.SIGKILL), stderr
