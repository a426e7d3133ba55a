"""OCI hooks: run each with the container's state on stdin, in order, with its timeout."""

from __future__ import annotations

import json

from estiba.errors import SystemFault
from estiba.runtime.spec import Hook


def run_hooks(stage: str, hooks: tuple[Hook, ...], state: dict) -> None:
    """Run `hooks` one after another; the first failure raises, naming the stage and hook."""
    if not hooks:
        return
    import subprocess

    payload = json.dumps(state).encode()
    for index, hook in enumerate(hooks):
        argv = list(hook.args) or [hook.path]
        env = dict(entry.split("=", 1) for entry in hook.env if "=" in entry)
        where = f"{stage} hook #{index} ({hook.path})"
        try:
            # Its own process group, so that a timeout kills what the hook started too.
            hook_process = subprocess.Popen(
                argv,
                executable=hook.path,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                process_group=0,
            )
        except OSError as exc:
            raise SystemFault(f"{where}: {exc.strerror}") from exc
        try:
            _, stderr = hook_process.communicate(payload, timeout=hook.timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(hook_process)
            raise SystemFault(f"{where}: timed out after {hook.timeout}s") from exc
        if hook_process.returncode != 0:
            detail = stderr.decode(errors="replace").strip().splitlines()
            tail = f": {detail[-1]}" if detail else ""
            raise SystemFault(f"{where}: exit status {hook_process.returncode}{tail}")


def _kill_group(hook_process) -> None:
    import os
    import signal

    try:
        os.killpg(hook_process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    hook_process.wait()
    for stream in (hook_process.stdin, hook_process.stdout, hook_process.stderr):
        stream.close()
