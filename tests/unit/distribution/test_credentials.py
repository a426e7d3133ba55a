"""Docker's config.json (0600, unknown keys kept) and credential helpers, with a fake
`docker-credential-fake` script in a temporary directory."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from estiba.distribution.credentials import (
    INDEX_SERVER,
    AuthConfig,
    DockerConfig,
    HelperStore,
    erase_credentials,
    find_credentials,
    registry_auth_header,
    store_credentials,
)
from estiba.errors import InvalidArgument, NotFound, Unavailable


def test_config_json_round_trip_is_0600_and_keeps_other_keys(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"psFormat": "{{.ID}}", "auths": {}}))
    os.chmod(tmp_path / "config.json", 0o644)
    path = store_credentials("127.0.0.1:5000", AuthConfig("me", "pw:with:colons"), tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["psFormat"] == "{{.ID}}"
    assert base64.b64decode(data["auths"]["127.0.0.1:5000"]["auth"]) == b"me:pw:with:colons"
    found = find_credentials("127.0.0.1:5000", tmp_path)
    assert found == AuthConfig("me", "pw:with:colons", "127.0.0.1:5000")
    assert find_credentials("other:5000", tmp_path) is None
    assert not list(tmp_path.glob(".config.json.*"))  # no temporary file left behind


def test_docker_hub_uses_the_legacy_key(tmp_path: Path) -> None:
    store_credentials("docker.io", AuthConfig("hub", "pw"), tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    assert list(data["auths"]) == [INDEX_SERVER]
    assert find_credentials("docker.io", tmp_path).username == "hub"


def test_erase(tmp_path: Path) -> None:
    store_credentials("r:1", AuthConfig("a", "b"), tmp_path)
    erase_credentials("r:1", tmp_path)
    assert find_credentials("r:1", tmp_path) is None
    with pytest.raises(NotFound):
        erase_credentials("r:1", tmp_path)


def test_identity_tokens_and_bad_files(tmp_path: Path) -> None:
    store_credentials("r:1", AuthConfig("a", "", identity_token="refresh"), tmp_path)
    assert find_credentials("r:1", tmp_path).identity_token == "refresh"
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InvalidArgument):
        find_credentials("r:1", tmp_path)


def test_x_registry_auth_header(tmp_path: Path) -> None:
    assert base64.urlsafe_b64decode(registry_auth_header("r:1", tmp_path)) == b"{}"
    store_credentials("r:1", AuthConfig("a", "b"), tmp_path)
    decoded = json.loads(base64.urlsafe_b64decode(registry_auth_header("r:1", tmp_path)))
    assert decoded == {"username": "a", "password": "b", "serveraddress": "r:1"}


HELPER = """#!/bin/sh
# docker-credential-fake: keeps credentials as files in $STORE, logs each action.
echo "$1" >> "$STORE/log"
read -r input || true
key=$(printf %s "$input" | sed 's/[^a-zA-Z0-9]/_/g' | cut -c1-40)
case "$1" in
  store) printf %s "$input" > "$STORE/last-store" ;;
  get)
    if [ -f "$STORE/last-store" ] && grep -q "$input" "$STORE/last-store"; then
      sed 's/"ServerURL":"[^"]*",//' "$STORE/last-store"
    else
      echo "credentials not found in native keychain"; exit 1
    fi ;;
  erase) rm -f "$STORE/last-store" ;;
esac
"""


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-fake"
    script.write_text(HELPER)
    script.chmod(0o755)
    store = tmp_path / "store"
    store.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("STORE", str(store))
    return store


@pytest.mark.parametrize("key", ["credsStore", "credHelpers"])
def test_credential_helper_store_get_erase(tmp_path: Path, helper: Path, key: str) -> None:
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    value = "fake" if key == "credsStore" else {"reg:5000": "fake"}
    (config_dir / "config.json").write_text(json.dumps({key: value}))
    store_credentials("reg:5000", AuthConfig("alice", "secret"), config_dir)
    data = json.loads((config_dir / "config.json").read_text())
    assert data["auths"] == {"reg:5000": {}}  # the secret is the helper's, not the file's
    stored = json.loads((helper / "last-store").read_text())
    assert stored == {"ServerURL": "reg:5000", "Username": "alice", "Secret": "secret"}
    assert find_credentials("reg:5000", config_dir) == AuthConfig("alice", "secret", "reg:5000")
    erase_credentials("reg:5000", config_dir)
    assert find_credentials("reg:5000", config_dir) is None
    assert (helper / "log").read_text().split() == ["store", "get", "erase", "get"]


def test_identity_token_through_a_helper(tmp_path: Path, helper: Path) -> None:
    config = DockerConfig(tmp_path / "config.json", {"credsStore": "fake"})
    store = config.store_for("reg:5000")
    store.store("reg:5000", AuthConfig("bob", "", identity_token="refresh-me"))
    assert store.find("reg:5000") == AuthConfig(server_address="reg:5000",
                                                identity_token="refresh-me")  # fmt: skip


def test_a_missing_helper_is_a_clear_error(tmp_path: Path) -> None:
    store = HelperStore("does-not-exist", DockerConfig(tmp_path / "config.json", {}))
    with pytest.raises(Unavailable) as failure:
        store.find("reg:5000")
    assert "docker-credential-does-not-exist" in str(failure.value)
