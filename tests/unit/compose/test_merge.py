"""Several -f files merged with the compose specification's merge rules."""

from __future__ import annotations

import pytest

BASE = """
services:
  web:
    image: busybox
    command: ["echo", "base"]
    entrypoint: /bin/sh
    dns: [1.1.1.1]
    ports: ["8080:80", "9090:90"]
    expose: ["3000"]
    volumes: ["./a:/data", "cache:/cache"]
    secrets: [token]
    environment: [A=1, B=2]
    labels: {one: "1"}
    healthcheck:
      test: ["CMD", "true"]
      interval: 10s
    depends_on: [db]
    networks: [front]
    logging:
      driver: json-file
      options: {max-size: 1m}
  db:
    image: busybox
networks:
  front:
    driver_opts: {a: "1"}
volumes:
  cache:
secrets:
  token:
    file: ./token.txt
  other:
    file: ./other.txt
"""


@pytest.mark.parametrize(
    "override, key, expected",
    [
        ("image: alpine", "image", "alpine"),
        ("command: echo over", "command", ["echo", "over"]),
        ("entrypoint: [/bin/bash]", "entrypoint", ["/bin/bash"]),
        ("dns: 8.8.8.8", "dns", ["1.1.1.1", "8.8.8.8"]),
        ("dns: [1.1.1.1, 8.8.4.4]", "dns", ["1.1.1.1", "8.8.4.4"]),
        ("expose: [3000, 4000]", "expose", ["3000", "4000"]),
        ("environment: {B: two, C: '3'}", "environment", {"A": "1", "B": "two", "C": "3"}),
        ("environment: [C=3]", "environment", {"A": "1", "B": "2", "C": "3"}),
        ("labels: [two=2]", "labels", {"one": "1", "two": "2"}),
        ("healthcheck: {test: [CMD, exit]}", "healthcheck", {"test": ["CMD", "exit"], "interval": "10s"}),
        ("healthcheck: {retries: 5}", "healthcheck", {"test": ["CMD", "true"], "interval": "10s", "retries": 5}),
        ("logging: {options: {max-file: '3'}}", "logging",
         {"driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}}),
        ("logging: {driver: syslog}", "logging", {"driver": "syslog"}),
        ("ports: !reset []", "ports", None),
        ("ports: !override ['7070:70']", "ports",
         [{"mode": "ingress", "target": 70, "published": "7070", "protocol": "tcp"}]),
        ("command: !reset null", "command", None),
        ("environment: !override {Z: z}", "environment", {"Z": "z"}),
        ("depends_on: {db: {condition: service_healthy}}", "depends_on",
         {"db": {"condition": "service_healthy", "required": True, "restart": False}}),
        ("networks: {front: {aliases: [w]}}", "networks", {"front": {"aliases": ["w"]}}),
    ],
)
def test_service_attribute_merge(proj, override: str, key: str, expected: object) -> None:
    proj.write("compose.yaml", BASE)
    proj.write("override.yaml", "services:\n  web:\n    " + override + "\n")
    web = proj.load("compose.yaml", "override.yaml").services["web"]
    assert web.get(key) == expected


def test_ports_appended_and_deduplicated(proj) -> None:
    proj.write("compose.yaml", BASE)
    proj.write("override.yaml", "services:\n  web:\n    ports: ['8080:80', '7070:70']\n")
    ports = proj.load("compose.yaml", "override.yaml").services["web"]["ports"]
    assert [(p["published"], p["target"]) for p in ports] == [("8080", 80), ("9090", 90), ("7070", 70)]


def test_volumes_unique_by_target(proj) -> None:
    proj.write("compose.yaml", BASE)
    proj.write("override.yaml", "services:\n  web:\n    volumes: ['./b:/data:ro', '/tmp:/tmp']\n")
    volumes = proj.load("compose.yaml", "override.yaml").services["web"]["volumes"]
    assert [(v["target"], v.get("source"), v.get("read_only")) for v in volumes] == [
        ("/data", str(proj.root / "b"), True),
        ("/cache", "cache", None),
        ("/tmp", "/tmp", None),
    ]


def test_secrets_unique_by_target(proj) -> None:
    proj.write("compose.yaml", BASE)
    proj.write("override.yaml", """
        services:
          web:
            secrets:
              - source: token
                mode: 0400
              - other
    """)
    secrets = proj.load("compose.yaml", "override.yaml").services["web"]["secrets"]
    assert secrets == [{"source": "token", "mode": 0o400}, {"source": "other"}]


def test_new_service_and_top_level_resources_merge(proj) -> None:
    proj.write("compose.yaml", BASE)
    proj.write("override.yaml", """
        services:
          extra:
            image: busybox
        networks:
          front:
            driver_opts: {b: "2"}
          back: {}
        secrets:
          other: !reset
    """)
    project = proj.load("compose.yaml", "override.yaml")
    assert sorted(project.services) == ["db", "extra", "web"]
    assert project.config["networks"]["front"] == {"name": "myapp_front", "driver_opts": {"a": "1", "b": "2"}}
    assert "back" in project.config["networks"]
    assert sorted(project.config["secrets"]) == ["token"]


def test_reset_removes_a_whole_service_attribute_mapping(proj) -> None:
    proj.write("compose.yaml", BASE)
    proj.write("override.yaml", "services:\n  web:\n    healthcheck: !reset {}\n    labels: !reset\n")
    web = proj.load("compose.yaml", "override.yaml").services["web"]
    assert "healthcheck" not in web and "labels" not in web


def test_paths_in_override_relative_to_project_directory(proj) -> None:
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox\n")
    proj.write("elsewhere/override.yaml", "services:\n  web:\n    build: ./ctx\n    volumes: ['./d:/d']\n")
    web = proj.load("compose.yaml", "elsewhere/override.yaml").services["web"]
    assert web["build"]["context"] == str(proj.root / "ctx")
    assert web["volumes"][0]["source"] == str(proj.root / "d")


def test_later_file_top_level_name_wins(proj) -> None:
    proj.write("compose.yaml", "name: first\nservices:\n  web:\n    image: busybox\n")
    proj.write("override.yaml", "name: second\n")
    assert proj.load("compose.yaml", "override.yaml").name == "second"


def test_empty_value_in_override_keeps_the_earlier_one(proj) -> None:
    proj.write("compose.yaml", BASE)
    proj.write("override.yaml", "networks:\n  front:\n")
    project = proj.load("compose.yaml", "override.yaml")
    assert project.config["networks"]["front"]["driver_opts"] == {"a": "1"}
