"""Pid namespaces: the container's process is pid 1 of its own namespace, an exec'd
process is inside it too, a second container can join it by path, and the runtime's
hooks stay in the host's namespace (estiba-runtime puts the child straight into the
namespace rather than forking twice; runc is the reference)."""

from __future__ import annotations

import os

import pytest

from tests.integration.runtime.helpers import container_id, wait_for, wait_status

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"), pytest.mark.timeout(120)]

REPORT = "echo pid=$$ ns=$(readlink /proc/self/ns/pid); exec sleep 60"
HOOK = "#!/bin/sh\necho $(readlink /proc/self/ns/pid) >> \"$1\"\ncat > /dev/null\n"


def _start(runtime, bundle, name: str) -> str:
    cid = container_id(name)
    runtime.create(bundle, cid, check=True)
    runtime.start(cid, check=True)
    wait_for(lambda: "pid=" in runtime.output(cid), what="the report")
    return cid


def _end(runtime, cid: str) -> None:
    runtime.kill(cid, "KILL", check=True)
    wait_status(runtime, cid, "stopped")
    runtime.delete(cid, check=True)


def test_pid_1_exec_inside_and_hooks_outside(any_runtime, make_bundle, tmp_path) -> None:
    hook = tmp_path / "hook.sh"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    log = tmp_path / "hooks.log"

    def edit(spec: dict) -> None:
        entry = {"path": str(hook), "args": ["hook.sh", str(log)]}
        spec["hooks"] = {"prestart": [entry], "createRuntime": [entry], "poststop": [entry]}

    cid = _start(any_runtime, make_bundle(edit, args=["/bin/sh", "-c", REPORT]), "pidns")
    try:
        report = any_runtime.output(cid).split()
        assert report[0] == "pid=1"
        container_ns = report[1].removeprefix("ns=")
        assert container_ns != os.readlink("/proc/self/ns/pid")
        pid = any_runtime.state(cid)["pid"]
        assert os.readlink(f"/proc/{pid}/ns/pid") == container_ns  # the host's view of pid 1
        result = any_runtime.exec(cid, "/bin/sh", "-c", "readlink /proc/self/ns/pid; echo $$", check=True)
        exec_ns, exec_pid = result.stdout.split()
        assert exec_ns == container_ns and int(exec_pid) > 1
    finally:
        _end(any_runtime, cid)
    host_ns = os.readlink("/proc/self/ns/pid")
    assert log.read_text().split() == [host_ns] * 3  # prestart, createRuntime, poststop


def test_join_a_pid_namespace_by_path(any_runtime, make_bundle) -> None:
    first = _start(any_runtime, make_bundle(args=["/bin/sh", "-c", REPORT]), "pidns-a")
    try:
        first_pid = any_runtime.state(first)["pid"]

        def join(spec: dict) -> None:
            for namespace in spec["linux"]["namespaces"]:
                if namespace["type"] == "pid":
                    namespace["path"] = f"/proc/{first_pid}/ns/pid"

        second = _start(any_runtime, make_bundle(join, args=["/bin/sh", "-c", REPORT]), "pidns-b")
        try:
            report = any_runtime.output(second).split()
            assert report[1] == "ns=" + os.readlink(f"/proc/{first_pid}/ns/pid")
            assert int(report[0].removeprefix("pid=")) > 1  # not pid 1: the first one is
            assert any_runtime.state(second)["status"] == "running"
        finally:
            _end(any_runtime, second)
    finally:
        _end(any_runtime, first)
