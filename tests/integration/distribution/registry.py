"""A real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1, open, with
htpasswd Basic auth, or trusting JWTs from a token server the test runs itself."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def htpasswd_line(user: str, password: str) -> str:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}"


class Registry:
    """One docker-registry process; `auth` is None, {"htpasswd": {...}} or {"token": {...}}."""

    def __init__(self, directory: Path, auth: dict | None = None) -> None:
        self.directory = directory
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.auth = auth
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "registry.log"

    def start(self) -> Registry:
        storage = self.directory / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": "estiba-test"},
        }
        if self.auth:
            config["auth"] = self.auth
        path = self.directory / "config.yml"
        path.write_text(json.dumps(config))  # YAML is a superset of JSON
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([REGISTRY, "serve", str(path)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # 401: up, and asking for credentials
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"docker-registry did not start: {self.log.read_text()}")
                time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None

    def get(self, path: str, *, headers: dict | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(f"http://{self.host}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def skopeo(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SKOPEO, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
