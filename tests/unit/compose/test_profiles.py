"""Profiles and services named on the command line."""

from __future__ import annotations

import pytest

from estiba.errors import InvalidArgument

COMPOSE = """
services:
  web:
    image: busybox
    depends_on: [db]
  db:
    image: busybox
  test_lib:
    image: busybox
    profiles: [test]
  coverage:
    image: busybox
    depends_on: [test_lib]
    profiles: [test]
  debug:
    image: busybox
    depends_on: [test_lib]
    profiles: [debug]
  tool:
    image: busybox
    profiles: [tools]
"""


def test_no_profile_only_unprofiled_services(proj) -> None:
    proj.write("compose.yaml", COMPOSE)
    project = proj.load("compose.yaml")
    assert sorted(project.services) == ["db", "web"]
    assert sorted(project.disabled) == ["coverage", "debug", "test_lib", "tool"]


def test_active_profile(proj) -> None:
    proj.write("compose.yaml", COMPOSE)
    assert sorted(proj.load("compose.yaml", profiles=["test"]).services) == ["coverage", "db", "test_lib", "web"]


def test_compose_profiles_variable(proj) -> None:
    proj.write("compose.yaml", COMPOSE)
    project = proj.load("compose.yaml", environ={"COMPOSE_PROFILES": "test,tools"})
    assert sorted(project.services) == ["coverage", "db", "test_lib", "tool", "web"]


def test_star_activates_every_profile(proj) -> None:
    proj.write("compose.yaml", COMPOSE)
    assert len(proj.load("compose.yaml", profiles=["*"]).services) == 6


def test_enabled_service_depending_on_disabled_one_is_an_error(proj) -> None:
    proj.write("compose.yaml", COMPOSE)
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml", profiles=["debug"])
    assert str(info.value) == (
        'service "debug" depends on service "test_lib", which is disabled: '
        "activate one of its profiles (test) or name it on the command line"
    )


def test_named_service_enabled_with_its_dependencies(proj) -> None:
    proj.write("compose.yaml", COMPOSE)
    project = proj.load("compose.yaml", services=["debug"])
    assert sorted(project.services) == ["debug", "test_lib"]
    assert "web" in project.disabled


def test_named_services_pull_their_dependency_closure(proj) -> None:
    proj.write("compose.yaml", COMPOSE)
    assert sorted(proj.load("compose.yaml", services=["web"]).services) == ["db", "web"]


def test_unknown_named_service(proj) -> None:
    proj.write("compose.yaml", COMPOSE)
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml", services=["nope"])
    assert str(info.value) == "no such service: nope"


def test_depends_on_undefined_service_names_both(proj) -> None:
    proj.write("compose.yaml", "services:\n  web:\n    image: busybox\n    depends_on: [cache]\n")
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert str(info.value) == 'service "web" depends on undefined service "cache": define it or remove the reference'


def test_optional_dependency_on_disabled_service_is_dropped(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web:
            image: busybox
            depends_on:
              extra: {condition: service_started, required: false}
          extra:
            image: busybox
            profiles: [x]
    """)
    project = proj.load("compose.yaml")
    assert "depends_on" not in project.services["web"]
    assert any('optional dependency "extra"' in w for w in project.warnings)


def test_links_network_mode_and_volumes_from_are_dependencies(proj) -> None:
    proj.write("compose.yaml", """
        services:
          web:
            image: busybox
            links: ["db:database"]
            network_mode: "service:net"
            volumes_from: [data, "container:other"]
          db: {image: busybox}
          net: {image: busybox}
          data: {image: busybox}
          unrelated: {image: busybox}
    """)
    project = proj.load("compose.yaml", services=["web"])
    assert sorted(project.services) == ["data", "db", "net", "web"]
    implicit = {"condition": "service_started", "required": True, "restart": True}
    assert project.services["web"]["depends_on"] == {"db": implicit, "net": implicit, "data": implicit}
    assert list(project.services["web"]) == sorted(project.services["web"])


def test_obsolete_version_attribute_warns(proj) -> None:
    proj.write("compose.yaml", "version: '3.8'\nservices:\n  web: {image: busybox}\n")
    project = proj.load("compose.yaml")
    assert project.warnings == [
        "compose.yaml: the attribute `version` is obsolete, it will be ignored, "
        "please remove it to avoid potential confusion"
    ]
    assert "version" not in project.config
