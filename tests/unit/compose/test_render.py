"""`render_config` output, and loading that output again gives the same model."""

from __future__ import annotations

import json

import pytest
import yaml

from estiba.compose.loader import load_project, render_config
from estiba.errors import InvalidArgument

RICH = """
name: rich
services:
  web:
    image: "busybox:${TAG:-1.35}"
    build:
      context: ./app
      args: [VERSION=1, FROM_ENV]
    command: sh -c 'echo "$$HOME"; sleep 1'
    entrypoint: ["/bin/sh"]
    ports: ["8080:80", "127.0.0.1:9000-9001:9000-9001/udp", 3000]
    expose: [5000]
    volumes: ["./data:/data:ro", "cache:/cache:nocopy", "/anon", "~/conf:/conf"]
    environment: [A=1, UNSET_IN_ENV, "MONEY=5$$"]
    env_file: [web.env]
    labels: {tier: front}
    depends_on:
      db: {condition: service_healthy}
    healthcheck:
      test: wget -q -O- localhost
      interval: 5s
      retries: 3
    networks:
      front:
        aliases: [www]
      default:
    extra_hosts: {gateway: 10.0.0.1}
    ulimits: {nofile: 4096}
    mem_limit: 128m
    shm_size: 64m
    restart: on-failure:3
    deploy:
      replicas: 2
      resources: {limits: {cpus: "0.5", memory: 64m}}
    secrets: [token]
    tmpfs: /run
    tty: true
    stop_grace_period: 30s
    multiline: ignored
  db:
    image: busybox
    networks: [back]
    healthcheck: {test: ["CMD", "true"], disable: false, start_period: 1m}
    volumes:
      - {type: tmpfs, target: /scratch, tmpfs: {size: 16m, mode: 1777}}
      - {type: volume, source: cache, target: /c, volume: {nocopy: true}}
    configs: [{source: conf, target: /etc/conf, mode: 0444}]
    logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
    deploy:
      restart_policy: {condition: on-failure, max_attempts: 2, delay: 5s}
      labels: [a=b]
    annotations: {com.example: x}
    sysctls: {net.core.somaxconn: 1024}
    cap_add: [NET_ADMIN]
    ulimits: {nproc: {soft: 10, hard: 20}}
    working_dir: /srv
    user: "1000:1000"
    stop_signal: SIGINT
    init: true
    pids_limit: 50
    cpus: 1.5
    scale: 1
configs:
  conf: {content: "key=value"}
networks:
  front: {}
  back: {internal: true}
volumes:
  cache: {}
secrets:
  token: {file: ./token.txt}
"""


@pytest.fixture
def rich(proj):
    proj.write("compose.yaml", RICH.replace("    multiline: ignored\n", ""))
    proj.write("web.env", "FROM_FILE=yes\nMULTI=\"a\\nb\"\n")
    proj.write("token.txt", "s3cret")
    return proj


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip(rich, fmt: str) -> None:
    first = rich.load("compose.yaml")
    text = render_config(first, fmt)
    rich.write(f"rendered.{fmt}", text)
    second = rich.load(f"rendered.{fmt}")
    assert second.config == first.config
    assert render_config(second, fmt) == text


def test_yaml_layout(rich) -> None:
    text = render_config(rich.load("compose.yaml"))
    assert text.startswith("name: rich\nservices:\n  db:\n")
    top_keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(" ")]
    assert top_keys == ["name", "services", "networks", "volumes", "secrets", "configs"]
    assert "    command:\n      - sh\n      - -c\n" in text
    assert "{" not in text.split("volumes:\n", 1)[0].replace("volume: {}", "")  # block style


def test_literal_dollars_escaped_in_output(rich) -> None:
    project = rich.load("compose.yaml")
    assert project.services["web"]["environment"]["MONEY"] == "5$"
    rendered = yaml.safe_load(render_config(project))
    assert rendered["services"]["web"]["environment"]["MONEY"] == "5$$"
    assert rendered["services"]["web"]["command"][2] == 'echo "$$HOME"; sleep 1'


def test_json_is_the_model(rich) -> None:
    project = rich.load("compose.yaml")
    data = json.loads(render_config(project, "json"))
    assert data["services"]["web"]["ports"][0] == {
        "mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp",
    }
    assert data["services"]["web"]["environment"]["UNSET_IN_ENV"] is None
    assert data["services"]["web"]["environment"]["MULTI"] == "a\nb"


def test_unknown_format(rich) -> None:
    with pytest.raises(InvalidArgument) as info:
        render_config(rich.load("compose.yaml"), "toml")
    assert str(info.value) == "unsupported format 'toml': use yaml or json"


def test_round_trip_through_load_project_from_other_directory(rich, tmp_path, monkeypatch) -> None:
    first = rich.load("compose.yaml")
    out = tmp_path / "elsewhere"
    out.mkdir()
    (out / "compose.yaml").write_text(render_config(first))
    monkeypatch.chdir(out)
    second = load_project(environ={"HOME": "/home/user"})
    assert second.config == first.config
    assert second.name == "rich"
