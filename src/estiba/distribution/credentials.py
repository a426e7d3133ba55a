"""Registry credentials in Docker's config.json, shared with `docker login`.

`$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) keeps, per registry key,
`{"auth": base64("user:password")}` (plus `identitytoken`), unless a credential helper
keeps them: `credHelpers` names one per registry, `credsStore` one for all. A helper is
the program `docker-credential-<name>` speaking the `get`/`store`/`erase` protocol on
stdin/stdout. The file is written 0600, to a temporary file renamed into place.

Only the standard library: the CLI imports this for every pull, push and login.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from estiba.errors import InvalidArgument, NotFound, SystemFault, Unavailable

DEFAULT_DOMAIN = "docker.io"
# The key Docker's config.json uses for Docker Hub credentials.
INDEX_SERVER = "https://index.docker.io/v1/"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
# What a helper returns for an identity token instead of a user name.
TOKEN_USERNAME = "<token>"
HELPER_PREFIX = "docker-credential-"


@dataclass(frozen=True)
class AuthConfig:
    """Docker's AuthConfig: what X-Registry-Auth and POST /auth carry."""

    username: str = ""
    password: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def to_json(self) -> dict[str, str]:
        out = {
            "username": self.username,
            "password": self.password,
            "serveraddress": self.server_address,
        }
        if self.identity_token:
            out["identitytoken"] = self.identity_token
        if self.registry_token:
            out["registrytoken"] = self.registry_token
        return out

    def to_header(self) -> str:
        """The X-Registry-Auth value: base64url of the JSON."""
        raw = json.dumps(self.to_json()).encode()
        return base64.urlsafe_b64encode(raw).decode()


def credential_key(domain: str) -> str:
    """The config.json key of a registry's credentials (Docker Hub's is a legacy URL)."""
    return INDEX_SERVER if domain in _HUB_ALIASES else domain


def normalize_server(server: str) -> str:
    """What `docker login SERVER` names: the registry domain, scheme and path dropped,
    Docker Hub's aliases as docker.io."""
    text = server.strip()
    if not text or text == INDEX_SERVER:
        return DEFAULT_DOMAIN
    text = text.split("://", 1)[-1].split("/", 1)[0]
    return DEFAULT_DOMAIN if text in _HUB_ALIASES else text


def registry_domain(name: str) -> str:
    """The registry of an image name as Docker reads it (`host:5000/a/b` -> `host:5000`,
    `busybox` -> docker.io), without parsing the rest."""
    first, slash, _ = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return normalize_server(first)
    return DEFAULT_DOMAIN


def registry_auth_header(domain: str, directory: Path | None = None) -> str:
    """The X-Registry-Auth value for a registry: its stored credentials, or `{}`."""
    found = find_credentials(domain, directory)
    if found is None:
        return base64.urlsafe_b64encode(b"{}").decode()
    return found.to_header()


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path(env.get("HOME") or Path.home()) / ".docker"


class CredentialStore(Protocol):
    """Where one registry's credentials live. `find` returns None when there are none."""

    def find(self, key: str) -> AuthConfig | None: ...

    def store(self, key: str, auth: AuthConfig) -> None: ...

    def erase(self, key: str) -> None: ...


class DockerConfig:
    """config.json read once; unknown keys are kept when it is written back."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def load(cls, directory: Path | None = None) -> DockerConfig:
        path = (directory or config_dir()) / "config.json"
        try:
            text = path.read_text()
        except FileNotFoundError:
            return cls(path, {})
        except OSError as exc:
            raise SystemFault(f"cannot read {path}: {exc.strerror}") from exc
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"invalid JSON in {path}: {exc.msg}", hint="fix or remove it") from exc
        if not isinstance(data, dict):
            raise InvalidArgument(f"invalid {path}: expected a JSON object")
        return cls(path, data)

    @property
    def auths(self) -> dict[str, Any]:
        auths = self.data.setdefault("auths", {})
        if not isinstance(auths, dict):
            raise InvalidArgument(f"invalid {self.path}: auths must be an object")
        return auths

    def store_for(self, key: str) -> CredentialStore:
        """The helper named for this registry, else the default helper, else the file."""
        helpers = self.data.get("credHelpers") or {}
        name = helpers.get(key) if isinstance(helpers, dict) else None
        name = name or self.data.get("credsStore")
        if name:
            return HelperStore(name, self)
        return FileStore(self)

    def save(self) -> None:
        """Write the file 0600: to a temporary file, fsynced, renamed, directory fsynced."""
        directory = self.path.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary = directory / f".config.json.{os.getpid()}.tmp"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, (json.dumps(self.data, indent="\t") + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
            dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise SystemFault(f"cannot write {self.path}: {exc.strerror}") from exc


class FileStore:
    """Credentials inside config.json itself (`auths.<key>.auth`)."""

    def __init__(self, config: DockerConfig) -> None:
        self.config = config

    def find(self, key: str) -> AuthConfig | None:
        entry = self.config.auths.get(key)
        if not isinstance(entry, dict):
            return None
        username, password = entry.get("username", ""), entry.get("password", "")
        encoded = entry.get("auth")
        if encoded:
            try:
                username, _, password = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidArgument(
                    f"invalid auth for {key} in {self.config.path}", hint="log in again"
                ) from exc
        token = entry.get("identitytoken", "")
        if not (username or password or token):
            return None
        return AuthConfig(username, password, key, identity_token=token)

    def store(self, key: str, auth: AuthConfig) -> None:
        entry: dict[str, str] = {
            "auth": base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
        }
        if auth.identity_token:
            entry = {"auth": base64.b64encode(f"{auth.username}:".encode()).decode()}
            entry["identitytoken"] = auth.identity_token
        self.config.auths[key] = entry
        self.config.save()

    def erase(self, key: str) -> None:
        if key not in self.config.auths:
            raise NotFound(f"not logged in to {key}")
        del self.config.auths[key]
        self.config.save()


class HelperStore:
    """A `docker-credential-<name>` program; config.json keeps an empty entry per registry."""

    def __init__(self, name: str, config: DockerConfig, *, path: str | None = None) -> None:
        self.program = HELPER_PREFIX + name
        self.config = config
        self._path = path

    def find(self, key: str) -> AuthConfig | None:
        result = self._run("get", key.encode())
        if result.returncode != 0:
            text = (result.stdout + result.stderr).decode(errors="replace").strip()
            if "credentials not found" in text.lower():
                return None
            raise Unavailable(f"credential helper {self.program} failed to get {key}: {text}")
        try:
            data = json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise Unavailable(f"credential helper {self.program} answered no JSON") from exc
        username, secret = data.get("Username", ""), data.get("Secret", "")
        if username == TOKEN_USERNAME:
            return AuthConfig(server_address=key, identity_token=secret)
        return AuthConfig(username, secret, key)

    def store(self, key: str, auth: AuthConfig) -> None:
        username, secret = auth.username, auth.password
        if auth.identity_token:
            username, secret = TOKEN_USERNAME, auth.identity_token
        body = json.dumps({"ServerURL": key, "Username": username, "Secret": secret}).encode()
        self._check(self._run("store", body), "store")
        self.config.auths[key] = {}
        self.config.save()

    def erase(self, key: str) -> None:
        self._check(self._run("erase", key.encode()), "erase")
        if key in self.config.auths:
            del self.config.auths[key]
            self.config.save()

    def _run(self, action: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
        env = None
        if self._path is not None:
            env = {**os.environ, "PATH": self._path}
        try:
            return subprocess.run(
                [self.program, action], input=data, capture_output=True, timeout=60, env=env
            )
        except FileNotFoundError as exc:
            raise Unavailable(
                f"credential helper {self.program} not found",
                hint="install it or remove credsStore/credHelpers from config.json",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise Unavailable(f"credential helper {self.program} did not answer") from exc

    def _check(self, result: subprocess.CompletedProcess[bytes], action: str) -> None:
        if result.returncode != 0:
            text = (result.stdout + result.stderr).decode(errors="replace").strip()
            raise Unavailable(f"credential helper {self.program} failed to {action}: {text}")


def find_credentials(domain: str, directory: Path | None = None) -> AuthConfig | None:
    """The stored credentials for a registry domain (`docker.io`, `host:5000`), if any."""
    key = credential_key(domain)
    config = DockerConfig.load(directory)
    return config.store_for(key).find(key)


def store_credentials(domain: str, auth: AuthConfig, directory: Path | None = None) -> Path:
    key = credential_key(domain)
    config = DockerConfig.load(directory)
    config.store_for(key).store(key, auth)
    return config.path


def erase_credentials(domain: str, directory: Path | None = None) -> None:
    key = credential_key(domain)
    config = DockerConfig.load(directory)
    config.store_for(key).erase(key)
