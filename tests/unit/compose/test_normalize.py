"""Each short syntax expanded to the canonical long form of `estiba.compose.model`."""

from __future__ import annotations

import pytest

from estiba.compose.loader.syntax import parse_port, parse_size, parse_volume
from estiba.errors import InvalidArgument


def service(proj, body: str, environ: dict | None = None, **top) -> dict:
    text = "services:\n  web:\n    image: busybox\n" + "".join(f"    {line}\n" for line in body.splitlines())
    for key, value in top.items():
        text += f"{key}:\n{value}"
    proj.write("compose.yaml", text)
    return proj.load("compose.yaml", environ=environ).services["web"]


@pytest.mark.parametrize(
    "spec, expected",
    [
        (80, [{"mode": "ingress", "target": 80, "protocol": "tcp"}]),
        ("8080:80", [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]),
        ("127.0.0.1:8080:80/udp",
         [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 80, "published": "8080", "protocol": "udp"}]),
        ("127.0.0.1::80", [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 80, "protocol": "tcp"}]),
        ("[::1]:6001:6001", [{"mode": "ingress", "host_ip": "::1", "target": 6001, "published": "6001", "protocol": "tcp"}]),
        ("8000-8001:9000-9001", [
            {"mode": "ingress", "target": 9000, "published": "8000", "protocol": "tcp"},
            {"mode": "ingress", "target": 9001, "published": "8001", "protocol": "tcp"},
        ]),
        ("3000-3001", [
            {"mode": "ingress", "target": 3000, "protocol": "tcp"},
            {"mode": "ingress", "target": 3001, "protocol": "tcp"},
        ]),
        ("8000-8010:80", [{"mode": "ingress", "target": 80, "published": "8000-8010", "protocol": "tcp"}]),
    ],
)
def test_port_short_syntax(spec, expected) -> None:
    assert parse_port(spec, "ports") == expected


@pytest.mark.parametrize("spec", ["80/icmp", "abc", "8000-8002:9000-9001", "70000", "90-80"])
def test_bad_ports(spec) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_port(spec, "services.web.ports[0]")
    assert str(info.value).startswith("services.web.ports[0]: ")


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("/anon", {"type": "volume", "target": "/anon", "volume": {}}),
        ("data:/d", {"type": "volume", "source": "data", "target": "/d", "volume": {}}),
        ("data:/d:nocopy", {"type": "volume", "source": "data", "target": "/d", "volume": {"nocopy": True}}),
        ("./rel:/r:ro", {"type": "bind", "source": "./rel", "target": "/r", "read_only": True,
                         "bind": {"create_host_path": True}}),
        ("/abs:/a:rw,z", {"type": "bind", "source": "/abs", "target": "/a",
                          "bind": {"selinux": "z", "create_host_path": True}}),
        ("~/h:/h:rslave", {"type": "bind", "source": "~/h", "target": "/h",
                           "bind": {"propagation": "rslave", "create_host_path": True}}),
    ],
)
def test_volume_short_syntax(spec, expected) -> None:
    assert parse_volume(spec, "volumes") == expected


@pytest.mark.parametrize("spec", ["a:b:c:d", "data:/d:bogus", "/a:/b:nocopy", "named:/n:z", ""])
def test_bad_volumes(spec) -> None:
    with pytest.raises(InvalidArgument):
        parse_volume(spec, "volumes")


@pytest.mark.parametrize(
    "value, expected",
    [("64m", 64 << 20), ("1g", 1 << 30), ("1.5GB", 3 << 29), ("512k", 512 << 10), ("100", 100), (2048, 2048), ("10b", 10)],
)
def test_sizes(value, expected) -> None:
    assert parse_size(value, "x") == expected


def test_bad_size_names_the_key(proj) -> None:
    with pytest.raises(InvalidArgument) as info:
        service(proj, "shm_size: lots")
    assert str(info.value) == "services.web.shm_size: invalid size 'lots': use a size like 64m or 1g"


def test_volumes_resolved_in_service(proj) -> None:
    web = service(proj, "volumes: ['./rel:/r', '~/cfg:/cfg', 'data:/data']", volumes="  data:\n")
    assert [v["source"] for v in web["volumes"]] == [str(proj.root / "rel"), "/home/user/cfg", "data"]


def test_long_volume_syntax(proj) -> None:
    web = service(proj, "volumes:\n  - {type: bind, source: ./x, target: /x, read_only: 'true'}\n"
                        "  - {type: tmpfs, target: /t, tmpfs: {size: 64m}}")
    assert web["volumes"] == [
        {"type": "bind", "source": str(proj.root / "x"), "target": "/x", "read_only": True},
        {"type": "tmpfs", "target": "/t", "tmpfs": {"size": 64 << 20}},
    ]


def test_undefined_named_volume(proj) -> None:
    with pytest.raises(InvalidArgument) as info:
        service(proj, "volumes: ['data:/data']")
    assert str(info.value) == (
        'service "web" refers to undefined volume data: define it under the top-level volumes key'
    )


def test_environment_list_to_mapping(proj) -> None:
    web = service(proj, "environment: [A=1, B=, C, D=x=y]", environ={"C": "from-env"})
    assert web["environment"] == {"A": "1", "B": "", "C": "from-env", "D": "x=y"}


def test_environment_mapping_values_become_strings(proj) -> None:
    web = service(proj, "environment: {N: 1, F: 1.5, T: true, U: null}")
    assert web["environment"] == {"N": "1", "F": "1.5", "T": "true", "U": None}


def test_depends_on_list_to_mapping(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web: {image: busybox, depends_on: [db, cache]}
          db: {image: busybox}
          cache: {image: busybox}
    """)
    web = proj.load("compose.yaml").services["web"]
    started = {"condition": "service_started", "required": True, "restart": False}
    assert web["depends_on"] == {"db": started, "cache": started}


def test_depends_on_long_form_defaults(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web:
            image: busybox
            depends_on:
              db: {condition: service_healthy, restart: true}
          db: {image: busybox}
    """)
    deps = proj.load("compose.yaml").services["web"]["depends_on"]
    assert deps == {"db": {"condition": "service_healthy", "required": True, "restart": True}}


@pytest.mark.parametrize(
    "body, key, expected",
    [
        ("extra_hosts: {db: 10.0.0.2, v6: '::1'}", "extra_hosts", ["db:10.0.0.2", "v6:::1"]),
        ("extra_hosts: ['a=1.2.3.4', 'b:5.6.7.8']", "extra_hosts", ["a:1.2.3.4", "b:5.6.7.8"]),
        ("ulimits: {nofile: 1024, nproc: {soft: 10, hard: 20}}", "ulimits",
         {"nofile": {"soft": 1024, "hard": 1024}, "nproc": {"soft": 10, "hard": 20}}),
        ("healthcheck: {test: curl -f localhost}", "healthcheck", {"test": ["CMD-SHELL", "curl -f localhost"]}),
        ("healthcheck: {test: [NONE]}", "healthcheck", {"test": ["NONE"]}),
        ("command: sh -c 'echo \"a b\"; true'", "command", ["sh", "-c", 'echo "a b"; true']),
        ("entrypoint: /entry.sh --flag", "entrypoint", ["/entry.sh", "--flag"]),
        ("command: [echo, '1']", "command", ["echo", "1"]),
        ("build: ./app", "build", {"context": "<root>/app", "dockerfile": "Dockerfile", "args": {}}),
        ("build: {context: ., args: [A=1, B]}", "build",
         {"context": "<root>", "dockerfile": "Dockerfile", "args": {"A": "1", "B": None}}),
        ("build: {dockerfile_inline: 'FROM busybox'}", "build",
         {"context": "<root>", "dockerfile_inline": "FROM busybox", "args": {}}),
        ("build: https://example.com/repo.git", "build",
         {"context": "https://example.com/repo.git", "dockerfile": "Dockerfile", "args": {}}),
        ("mem_limit: 64m", "mem_limit", 64 << 20),
        ("shm_size: '1g'", "shm_size", 1 << 30),
        ("memswap_limit: -1", "memswap_limit", -1),
        ("cpus: '0.5'", "cpus", 0.5),
        ("pids_limit: '100'", "pids_limit", 100),
        ("labels: [a=1, b]", "labels", {"a": "1", "b": ""}),
        ("sysctls: [net.core.somaxconn=1024]", "sysctls", {"net.core.somaxconn": "1024"}),
        ("tmpfs: /run", "tmpfs", ["/run"]),
        ("dns: 8.8.8.8", "dns", ["8.8.8.8"]),
        ("expose: [80, '90']", "expose", ["80", "90"]),
        ("restart: no", "restart", "no"),
        ("privileged: 'yes'", "privileged", True),
        ("stop_grace_period: 1m30s", "stop_grace_period", "1m30s"),
        ("deploy: {replicas: '2', resources: {limits: {cpus: 0.5, memory: 128m, pids: 10}}}", "deploy",
         {"replicas": 2, "resources": {"limits": {"cpus": "0.5", "memory": 128 << 20, "pids": 10}}}),
        ("scale: 3", "scale", 3),
        ("network_mode: host", "networks", None),
        ("networks: {default: {aliases: [w]}}", "networks", {"default": {"aliases": ["w"]}}),
    ],
)
def test_short_syntaxes(proj, body: str, key: str, expected: object) -> None:
    web = service(proj, body)
    if isinstance(expected, dict) and key == "build":
        expected = {k: v.replace("<root>", str(proj.root)) if isinstance(v, str) else v for k, v in expected.items()}
    assert web.get(key) == expected


def test_default_network_added(proj) -> None:
    proj.write("compose.yaml", "services:\n  web: {image: busybox}\n  solo: {image: busybox, network_mode: none}\n")
    project = proj.load("compose.yaml")
    assert project.services["web"]["networks"] == {"default": None}
    assert "networks" not in project.services["solo"]
    assert project.config["networks"] == {"default": {"name": "myapp_default"}}


def test_no_default_network_when_unused(proj) -> None:
    proj.write("compose.yaml", "services:\n  web: {image: busybox, network_mode: host}\n")
    assert "networks" not in proj.load("compose.yaml").config


def test_top_level_engine_names(proj) -> None:
    proj.write("token.txt", "secret")
    proj.write("compose.yaml", """
        services:
          web:
            image: busybox
            networks: [front, ext]
            volumes: ["data:/data", "named:/n", "outside:/o"]
            secrets: [token]
        networks:
          front:
            labels: [a=b]
          ext:
            external: true
        volumes:
          data:
          named:
            name: exactly-this
          outside:
            external: true
            name: real-name
        secrets:
          token:
            file: ./token.txt
    """)
    config = proj.load("compose.yaml").config
    assert config["networks"] == {
        "ext": {"name": "ext", "external": True},
        "front": {"name": "myapp_front", "labels": {"a": "b"}},
    }
    assert config["volumes"] == {
        "data": {"name": "myapp_data"},
        "named": {"name": "exactly-this"},
        "outside": {"name": "real-name", "external": True},
    }
    assert config["secrets"] == {"token": {"name": "myapp_token", "file": str(proj.root / "token.txt")}}
    assert config["services"]["web"]["secrets"] == [{"source": "token"}]


@pytest.mark.parametrize(
    "body, message",
    [
        ("networks: [nowhere]", 'service "web" refers to undefined network nowhere: define it under the top-level networks key'),
        ("secrets: [nope]", 'service "web" refers to undefined secret nope: define it under the top-level secrets key'),
        ("network_mode: host\nnetworks: [default]", "services.web: network_mode and networks cannot be combined: keep one of them"),
        ("network_mode: 'service:ghost'", 'service "web" uses the network of undefined service "ghost": define it or remove the reference'),
        ("ulimits: {nofile: lots}", "services.web.ulimits.nofile: invalid integer 'lots': use a whole number"),
        ("command: \"echo 'unclosed\"", "services.web.command: cannot split \"echo 'unclosed\" into words: No closing quotation"),
    ],
)
def test_reference_and_value_errors(proj, body: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        service(proj, body)
    assert str(info.value) == message


def test_services_sorted_by_name(proj) -> None:
    proj.write("compose.yaml", "services:\n  zeta: {image: busybox}\n  alpha: {image: busybox}\n")
    assert list(proj.load("compose.yaml").services) == ["alpha", "zeta"]


def test_long_port_syntax(proj) -> None:
    web = service(proj, "ports:\n  - {target: '80', published: 8080, host_ip: 0.0.0.0, name: web, app_protocol: http}\n"
                        "  - {target: 53, protocol: udp, mode: host}")
    assert web["ports"] == [
        {"mode": "ingress", "host_ip": "0.0.0.0", "target": 80, "published": "8080", "protocol": "tcp",
         "name": "web", "app_protocol": "http"},
        {"mode": "host", "target": 53, "protocol": "udp"},
    ]


def test_secret_and_config_long_form(proj) -> None:
    proj.write("cfg.txt", "x")
    web = service(
        proj,
        "secrets: [{source: s, target: /etc/s, uid: '1000', mode: 0440}]\nconfigs: [c]",
        secrets="  s:\n    environment: SECRET_VALUE\n",
        configs="  c:\n    file: ./cfg.txt\n",
    )
    assert web["secrets"] == [{"source": "s", "target": "/etc/s", "uid": "1000", "mode": 0o440}]
    assert web["configs"] == [{"source": "c"}]
