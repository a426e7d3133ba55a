"""`extends` (same file, other file, chains, cycles) and `include` (sub-projects, conflicts)."""

from __future__ import annotations

import pytest

from estiba.errors import InvalidArgument


def test_extends_same_file(proj) -> None:
    proj.write("compose.yaml", """
        services:
          base:
            image: busybox
            environment: {A: "1"}
            command: [echo, base]
          web:
            extends: base
            environment: {B: "2"}
            command: [echo, web]
    """)
    web = proj.load("compose.yaml").services["web"]
    assert web["image"] == "busybox"
    assert web["environment"] == {"A": "1", "B": "2"}
    assert web["command"] == ["echo", "web"]
    assert "extends" not in web


def test_extends_other_file_resolves_its_paths_there(proj) -> None:
    proj.write("common/base.yaml", """
        services:
          app:
            image: busybox
            build: ./ctx
            env_file: app.env
            volumes: ["./data:/data", "named:/named"]
    """)
    proj.write("common/app.env", "FROM_FILE=yes\n")
    proj.write("compose.yaml", """
        services:
          web:
            extends:
              file: common/base.yaml
              service: app
            volumes: ["./local:/local"]
        volumes:
          named:
    """)
    web = proj.load("compose.yaml").services["web"]
    common = proj.root / "common"
    assert web["build"]["context"] == str(common / "ctx")
    assert web["environment"] == {"FROM_FILE": "yes"}
    assert [v.get("source") for v in web["volumes"]] == [str(common / "data"), "named", str(proj.root / "local")]


def test_extends_chain_across_files(proj) -> None:
    proj.write("a.yaml", "services:\n  one:\n    image: busybox\n    labels: {a: '1'}\n")
    proj.write("b.yaml", "services:\n  two:\n    extends: {file: a.yaml, service: one}\n    labels: {b: '2'}\n")
    proj.write("compose.yaml", "services:\n  web:\n    extends: {file: b.yaml, service: two}\n")
    assert proj.load("compose.yaml").services["web"]["labels"] == {"a": "1", "b": "2"}


def test_extends_cycle_is_an_error(proj) -> None:
    proj.write("compose.yaml", """
        services:
          a:
            extends: b
          b:
            extends: c
          c:
            extends: a
    """)
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert str(info.value) == "compose.yaml: services.a: extends cycle a -> b -> c -> a: break the cycle"


def test_extends_cycle_across_files(proj) -> None:
    proj.write("compose.yaml", "services:\n  a:\n    extends: {file: other.yaml, service: b}\n")
    proj.write("other.yaml", "services:\n  b:\n    extends: {file: compose.yaml, service: a}\n")
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert "extends cycle a -> b -> a" in str(info.value)


def test_extends_unknown_service(proj) -> None:
    proj.write("compose.yaml", "services:\n  web:\n    extends: nothere\n")
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert str(info.value) == (
        "compose.yaml: services.web extends undefined service 'nothere': define it or add extends.file"
    )


def test_include_sub_project(proj) -> None:
    proj.write("db/compose.yaml", """
        services:
          db:
            image: "busybox:${DB_TAG}"
            volumes: ["./init:/init", "dbdata:/var/lib/db"]
        volumes:
          dbdata:
    """)
    proj.write("db/.env", "DB_TAG=from-db-env\n")
    proj.write("compose.yaml", """
        include:
          - db/compose.yaml
        services:
          web:
            image: busybox
            depends_on: [db]
    """)
    project = proj.load("compose.yaml")
    assert sorted(project.services) == ["db", "web"]
    db = project.services["db"]
    assert db["image"] == "busybox:from-db-env"
    assert db["volumes"][0]["source"] == str(proj.root / "db" / "init")
    assert project.config["volumes"]["dbdata"]["name"] == "myapp_dbdata"


def test_include_long_form_env_file_and_project_directory(proj) -> None:
    proj.write("parts/svc.yaml", "services:\n  svc:\n    image: busybox:${T}\n    build: ctx\n")
    proj.write("vars.env", "T=from-vars\n")
    proj.write("compose.yaml", """
        include:
          - path: [parts/svc.yaml]
            project_directory: parts/root
            env_file: vars.env
    """)
    svc = proj.load("compose.yaml").services["svc"]
    assert svc["image"] == "busybox:from-vars"
    assert svc["build"]["context"] == str(proj.root / "parts/root/ctx")


def test_include_conflict_is_an_error(proj) -> None:
    proj.write("sub.yaml", "services:\n  web:\n    image: alpine\n")
    proj.write("compose.yaml", "include: [sub.yaml]\nservices:\n  web:\n    image: busybox\n")
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert str(info.value) == (
        "compose.yaml: service 'web' from included sub.yaml conflicts with the one defined in "
        "compose.yaml: rename one of them"
    )


def test_include_cycle_is_an_error(proj) -> None:
    proj.write("compose.yaml", "include: [sub.yaml]\nservices:\n  web:\n    image: busybox\n")
    proj.write("sub.yaml", "include: [compose.yaml]\nservices:\n  other:\n    image: busybox\n")
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert "include cycle" in str(info.value)


def test_missing_extends_file(proj) -> None:
    proj.write("compose.yaml", "services:\n  web:\n    extends: {file: gone.yaml, service: x}\n")
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert str(info.value) == "compose.yaml: services.web.extends.file: no such file gone.yaml: check the path"


def test_missing_included_file(proj) -> None:
    proj.write("compose.yaml", "include: [parts/gone.yaml]\nservices:\n  web: {image: busybox}\n")
    with pytest.raises(InvalidArgument) as info:
        proj.load("compose.yaml")
    assert str(info.value) == "compose.yaml: include: no such file parts/gone.yaml: check the path"
