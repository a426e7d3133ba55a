"""daemon.json's registry keys: registry-mirrors and insecure-registries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estiba.daemon.config import load_config
from estiba.errors import InvalidArgument


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(data))
    return path


def test_registry_keys(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {
        "registry-mirrors": ["https://mirror.example:5000"],
        "insecure-registries": ["10.0.0.0/8", "reg.local:5000"],
    }))  # fmt: skip
    assert config.registry_mirrors == ("https://mirror.example:5000",)
    assert config.insecure_registries == ("10.0.0.0/8", "reg.local:5000")
    assert load_config(write(tmp_path, {})).registry_mirrors == ()


@pytest.mark.parametrize("bad", [
    {"registry-mirrors": "https://m"},
    {"registry-mirrors": ["mirror:5000"]},
    {"insecure-registries": ["http://x:5000"]},
    {"insecure-registries": [5000]},
    {"registry-mirror": ["https://m"]},
])  # fmt: skip
def test_bad_registry_keys_are_errors(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(InvalidArgument):
        load_config(write(tmp_path, bad))
