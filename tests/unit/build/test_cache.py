"""Cache keys and the cache store."""

from __future__ import annotations

import os

from estiba.build.cache import BuildCache, files_digest, step_key
from estiba.build.context import BuildContext
from estiba.build.copying import collect_context, digest_items
from estiba.build.dockerfile import parse_dockerfile
from estiba.build.instructions import copy_spec


def test_step_key_depends_on_the_step_and_its_inputs():
    base = step_key("/bin/sh -c make", {"config": {"Env": ["A=1"]}})
    assert base == step_key("/bin/sh -c make", {"config": {"Env": ["A=1"]}})
    assert base != step_key("/bin/sh -c make ", {"config": {"Env": ["A=1"]}})
    assert base != step_key("/bin/sh -c make", {"config": {"Env": ["A=2"]}})
    # A build arg in scope is in the RUN's history line, hence in its key.
    assert step_key("|1 V=1 /bin/sh -c make") != step_key("|1 V=2 /bin/sh -c make")


def test_files_digest_covers_names_modes_and_contents():
    one = files_digest([("a", 0o644, 0, 0, "f", "x")])
    assert one == files_digest([("a", 0o644, 0, 0, "f", "x")])
    assert one != files_digest([("a", 0o755, 0, 0, "f", "x")])
    assert one != files_digest([("b", 0o644, 0, 0, "f", "x")])
    assert one != files_digest([("a", 0o644, 0, 0, "f", "y")])


def _digest(root, line="COPY src /dst/"):
    instruction = parse_dockerfile(f"FROM b\n{line}\n").stages[0].commands[0]
    spec = copy_spec(instruction, {}, "/")
    items = collect_context(spec, BuildContext.at(root), {})
    return digest_items(items, spec)


def test_copy_digest_follows_content_not_times(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("one")
    (tmp_path / "src" / "b.txt").write_text("two")
    first = _digest(tmp_path)
    os.utime(tmp_path / "src" / "a.txt", (1, 1))
    assert _digest(tmp_path) == first  # touched: same key, as Docker's tarsum
    (tmp_path / "src" / "a.txt").write_text("changed")
    assert _digest(tmp_path) != first
    assert _digest(tmp_path, "COPY --chmod=600 src /dst/") != _digest(tmp_path)


def test_copy_digest_ignores_dockerignored_files(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("one")
    (tmp_path / ".dockerignore").write_text("src/*.log\n")
    first = _digest(tmp_path)
    (tmp_path / "src" / "debug.log").write_text("noise")
    assert _digest(tmp_path) == first


def test_cache_entries_persist(tmp_path):
    cache = BuildCache(tmp_path / "cache.db")
    cache.put("sha256:parent", "k1", "sha256:img1")
    cache.close()
    cache = BuildCache(tmp_path / "cache.db")
    assert cache.get("sha256:parent", "k1") == "sha256:img1"
    assert cache.get("sha256:other", "k1") is None
    assert cache.prune() == ["sha256:img1"]
    assert cache.get("sha256:parent", "k1") is None
    cache.close()
