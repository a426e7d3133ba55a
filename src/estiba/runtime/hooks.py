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
            result = subprocess.run(
                argv,
                executable=hook.path,
                input=payload,
                env=env,
                capture_output=True,
                timeout=hook.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SystemFault(f"{where}: timed out after {hook.timeout}s") from exc
        except OSError as exc:
            raise SystemFault(f"{where}: {exc.strerror}") from exc
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            tail = f": {detail[-1]}" if detail else ""
            raise SystemFault(f"{where}: exit status {result.returncode}{tail}")
