"""Bundle options the parity suite does not reach: --no-pivot, --preserve-fds, tmpcopyup,
device nodes, sysctls, oomScoreAdj, a writable root, and the limits a container sees in
its own cgroup mount. Each runs through estiba-runtime and runc (`any_runtime`)."""

from __future__ import annotations

import os
import uuid

import pytest

pytestmark = pytest.mark.timeout(90)


def cid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def test_no_pivot_runs_in_a_chroot(any_runtime, make_bundle):
    bundle = make_bundle(args=sh("echo $$; ls /bin/busybox"))
    result = any_runtime.run(bundle, cid("nopivot"), "--no-pivot")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "/bin/busybox"]


def test_preserve_fds_passes_extra_descriptors(any_runtime, make_bundle, tmp_path):
    import shlex
    import subprocess

    bundle = make_bundle(args=sh("cat <&3"))
    data = tmp_path / "data"
    data.write_text("through fd 3\n")
    name = cid("fds")
    any_runtime.containers.append(name)
    runtime = " ".join(shlex.quote(a) for a in any_runtime.argv)
    # The shell opens fd 3 and execs the runtime, which must hand it to the container.
    script = (f"exec 3<{shlex.quote(str(data))}; exec {runtime} --root {shlex.quote(str(any_runtime.root))} "
              f"run --bundle {shlex.quote(str(bundle))} --preserve-fds 1 {name}")
    result = subprocess.run(["sh", "-c", script], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "through fd 3\n"


def test_tmpcopyup_keeps_what_the_image_had(any_runtime, make_bundle):
    def edit(spec):
        spec["root"]["readonly"] = False
        spec["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                               "options": ["tmpcopyup", "nosuid"]})

    bundle = make_bundle(edit, args=sh("grep -c root /etc/passwd; touch /etc/new && grep -c tmpfs /proc/mounts"))
    result = any_runtime.run(bundle, cid("copyup"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[0] != "0"  # /etc/passwd was copied into the tmpfs
    assert not (bundle / "rootfs" / "etc" / "new").exists()  # the write went to the tmpfs


def test_devices_are_created_with_mode_and_owner(any_runtime, make_bundle):
    def edit(spec):
        spec["linux"]["devices"] = [
            {"path": "/dev/fuse-like", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 100}
        ]

    # Root without CAP_DAC_OVERRIDE (runc's default set) may not write a 0640 node it
    # does not own: the mode and owner really apply.
    bundle = make_bundle(edit, args=sh("stat -c '%F %a %u %g %t %T' /dev/fuse-like; echo x > /dev/fuse-like || echo refused"))
    result = any_runtime.run(bundle, cid("dev"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["character special file 640 1000 100 1 3", "refused"]


def test_a_device_not_allowed_by_the_cgroup_is_refused(any_runtime, make_bundle):
    bundle = make_bundle(args=sh("mknod /tmp/mem c 1 1 && head -c1 /tmp/mem; echo rc=$?"),
                         root={"readonly": False},
                         process={"capabilities": {"bounding": ["CAP_MKNOD"], "effective": ["CAP_MKNOD"],
                                                   "permitted": ["CAP_MKNOD"]}})
    result = any_runtime.run(bundle, cid("nodev"))
    assert "rc=0" not in result.stdout


def test_namespaced_sysctls_are_written(any_runtime, make_bundle):
    def edit(spec):
        spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}

    bundle = make_bundle(edit, args=sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"))
    result = any_runtime.run(bundle, cid("sysctl"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1234"]
    with open("/proc/sys/kernel/shmmni") as host:
        assert host.read().strip() != "1234"


def test_a_host_sysctl_is_refused_before_anything_is_made(estiba_runtime, make_bundle):
    def edit(spec):
        spec["linux"]["sysctl"] = {"vm.swappiness": "10"}

    result = estiba_runtime.run(make_bundle(edit, args=["true"]), cid("hostsysctl"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        'estiba-runtime: config.json: linux.sysctl: "vm.swappiness" is not allowed in a container'
    ]


def test_oom_score_adj_is_applied(any_runtime, make_bundle):
    bundle = make_bundle(args=sh("cat /proc/self/oom_score_adj"), process={"oomScoreAdj": 500})
    result = any_runtime.run(bundle, cid("oomadj"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "500"


def test_writable_root_and_read_only_root(any_runtime, make_bundle):
    writable = make_bundle(args=sh("echo hi > /written && cat /written"), root={"readonly": False})
    result = any_runtime.run(writable, cid("rw"))
    assert result.stdout.strip() == "hi"
    readonly = make_bundle(args=sh("echo hi > /written; echo rc=$?"))
    result = any_runtime.run(readonly, cid("ro"))
    assert "rc=1" in result.stdout


def test_limits_are_visible_in_the_containers_cgroup_mount(any_runtime, make_bundle):
    def edit(spec):
        spec["linux"]["resources"]["memory"] = {"limit": 64 * 1024 * 1024}
        spec["linux"]["resources"]["pids"] = {"limit": 42}
        spec["linux"]["resources"]["cpu"] = {"shares": 512, "quota": 50000, "period": 100000}

    bundle = make_bundle(edit, args=sh(
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
        "/sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
    ))
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        pytest.skip("needs cgroup v1 controllers (this test reads v1 files)")
    result = any_runtime.run(bundle, cid("limits"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(64 * 1024 * 1024), "42", "512", "50000"]


def test_exec_forwards_signals_to_its_process(any_runtime, make_bundle):
    import signal
    import subprocess
    import time

    name = cid("execsig")
    any_runtime.run(make_bundle(args=["sleep", "60"]), name, "-d", check=True)
    script = "trap 'echo got-term; exit 0' TERM; echo ready; sleep 30 >/dev/null 2>&1 & wait"
    argv = [*any_runtime.argv, "--root", str(any_runtime.root), "exec", name, "sh", "-c", script]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "got-term" in out, err
    assert proc.returncode == 0, err


def test_a_cgroup_namespace_shows_only_the_containers_own_cgroups(any_runtime, make_bundle):
    def edit(spec):
        spec["linux"]["namespaces"].append({"type": "cgroup"})

    bundle = make_bundle(edit, args=sh(
        "find /sys/fs/cgroup/pids/ -mindepth 1 -maxdepth 1 -type d | wc -l; grep pids /proc/self/cgroup"
    ))
    if not os.path.isdir("/sys/fs/cgroup/pids"):
        pytest.skip("needs the v1 pids hierarchy")
    result = any_runtime.run(bundle, cid("cgns"))
    assert result.returncode == 0, result.stderr
    # No host cgroup (not even the container's siblings) is in view, and our own is "/".
    count, own = result.stdout.split()
    assert count == "0"
    assert own.endswith(":pids:/")
