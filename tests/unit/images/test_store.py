"""ImageStore: adding, naming, resolving, listing and removing images like Docker does."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from estiba.content import Descriptor, LocalContentStore, MemoryContentStore
from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.images import (
    History,
    ImageConfig,
    ImageFilters,
    ImageStore,
    ImageUser,
    Index,
    Manifest,
    write_image,
)
from estiba.images import mediatypes as mt

from tests.unit.images._helpers import layer, make_image

Users = dict[str, list[ImageUser]]


@pytest.fixture
def users() -> Users:
    return {}


@pytest.fixture
def store(tmp_path: Path, users: Users) -> ImageStore:
    content = LocalContentStore(tmp_path / "content")
    return ImageStore(
        tmp_path / "images.db", content, users=lambda image_id: users.get(image_id, [])
    )


def test_add_and_get_every_way(store: ImageStore) -> None:
    image_id = make_image(store, "base", refs=["busybox:latest"])
    image = store.get("busybox")
    assert image.id == image_id and image.repo_tags == ("busybox:latest",)
    for text in (
        "busybox:latest",
        "docker.io/library/busybox:latest",
        image_id,
        image_id[7:],
        image_id[7:19],
        image_id[:12],
        image_id[7:8],
    ):
        assert store.get(text).id == image_id, text
    assert image.short_id == image_id[7:19]
    assert image.manifest.media_type == mt.OCI_MANIFEST
    assert store.exists("busybox") and not store.exists("nope")


def test_unknown_image_is_not_found(store: ImageStore) -> None:
    make_image(store, "x", refs=["a:1"])
    for text in ("a:2", "b", "sha256:" + "f" * 64, "f" * 64, "zzz"):
        with pytest.raises(NotFound, match="No such image"):
            store.get(text)


def test_ambiguous_prefix_is_a_conflict(store: ImageStore) -> None:
    seen: dict[str, str] = {}
    for n in range(17):
        image_id = make_image(store, f"layer{n}")
        first = image_id[7]
        if first in seen:
            break
        seen[first] = image_id
    with pytest.raises(Conflict, match="ambiguous"):
        store.get(first)
    assert store.get(image_id[7:19]).id == image_id


def test_add_needs_blobs_first(store: ImageStore) -> None:
    content = store.content
    good = layer(content, "ok")
    missing = Descriptor(mt.OCI_LAYER, "sha256:" + "0" * 64, 10)
    config = ImageConfig("amd64", "linux", diff_ids=(good.digest, missing.digest))
    manifest = write_image(content, config, [good, missing])
    with pytest.raises(NotFound, match="write it first"):
        store.add(manifest.digest, refs=["x"])
    with pytest.raises(NotFound, match="manifest"):
        store.add("sha256:" + "1" * 64)
    assert store.list() == []


def test_add_checks_manifest_against_config(store: ImageStore) -> None:
    content = store.content
    config = ImageConfig("amd64", "linux", diff_ids=())
    config_desc = content.write(config.to_bytes(), media_type=mt.OCI_CONFIG)
    bad = Manifest(config_desc, (layer(content, "extra"),))
    digest = content.write(bad.to_bytes()).digest
    with pytest.raises(InvalidArgument, match="1 layers but its config lists 0"):
        store.add(digest)
    index = content.write(Index(()).to_bytes()).digest
    with pytest.raises(InvalidArgument, match="is an index"):
        store.add(index)


def test_add_is_all_or_nothing(store: ImageStore) -> None:
    with pytest.raises(InvalidArgument):
        make_image(store, "a", refs=["ok:1", "Bad:Ref"])
    with pytest.raises(NotFound, match="parent"):
        make_image(store, "b", refs=["ok:2"], parent="sha256:" + "9" * 64)
    assert store.list(ImageFilters(all=True)) == []


def test_add_again_keeps_refs_and_adds_new(store: ImageStore) -> None:
    image_id = make_image(store, "a", refs=["one"])
    again = make_image(store, "a", refs=["two"])
    assert again == image_id
    assert store.get(image_id).repo_tags == ("one:latest", "two:latest")


def test_tag_moves_and_untag(store: ImageStore) -> None:
    a = make_image(store, "a", refs=["app:1"])
    b = make_image(store, "b")
    assert store.tag(a, "app:latest").familiar() == "app:latest"
    assert store.get("app").id == a
    store.tag(b[:12], "app")
    assert store.get("app").id == b
    assert store.get(a).repo_tags == ("app:1",)
    with pytest.raises(InvalidArgument, match="digest"):
        store.tag(a, "app@sha256:" + "a" * 64)
    with pytest.raises(NotFound):
        store.tag("missing", "x")
    store.untag("app:1")
    assert store.get(a).repo_tags == ()
    with pytest.raises(NotFound, match="No such image: app:1"):
        store.untag("app:1")


def test_digest_references(store: ImageStore) -> None:
    image_id = make_image(store, "a", refs=["app:1"])
    manifest = store.get(image_id).manifest.digest
    store.add(manifest, refs=[f"app@{manifest}"])
    image = store.get(f"app@{manifest}")
    assert image.id == image_id and image.repo_digests == (f"app@{manifest}",)


def test_list_and_filters(store: ImageStore) -> None:
    old = make_image(
        store, "old", refs=["busybox:1"], created="2020-01-01T00:00:00Z", labels={"tier": "base"}
    )
    new = make_image(
        store,
        "new",
        refs=["app:v1", "app:v2"],
        created="2024-01-01T00:00:00Z",
        labels={"tier": "web", "x": ""},
    )
    dangling = make_image(store, "dangling", created="2022-01-01T00:00:00Z")
    assert [i.id for i in store.list()] == [new, dangling, old]
    assert [i.id for i in store.list(ImageFilters(dangling=True))] == [dangling]
    assert [i.id for i in store.list(ImageFilters(dangling=False))] == [new, old]
    assert [i.id for i in store.list(ImageFilters(labels=("tier",)))] == [new, old]
    assert [i.id for i in store.list(ImageFilters(labels=("tier=web",)))] == [new]
    assert [i.id for i in store.list(ImageFilters(labels=("tier=web", "x")))] == [new]
    assert store.list(ImageFilters(labels=("nope",))) == []
    filtered = store.list(ImageFilters(references=("app:v1",)))
    assert [(i.id, i.repo_tags) for i in filtered] == [(new, ("app:v1",))]
    assert [i.id for i in store.list(ImageFilters(references=("busy*",)))] == [old]
    assert [i.id for i in store.list(ImageFilters(references=("app",)))] == [new]


def test_intermediate_images_hidden_unless_all(store: ImageStore) -> None:
    parent = make_image(store, "p")
    child = make_image(store, "p", "c", refs=["child"], parent=parent)
    assert [i.id for i in store.list()] == [child]
    assert {i.id for i in store.list(ImageFilters(all=True))} == {parent, child}


def test_layers_and_config(store: ImageStore) -> None:
    image_id = make_image(store, "one", "two", refs=["two-layers"])
    layers = store.layers("two-layers")
    config = store.config(image_id)
    assert [diff_id for diff_id, _ in layers] == list(config.diff_ids)
    assert all(blob.media_type == mt.OCI_LAYER for _, blob in layers)
    assert store.manifest(image_id).config.digest == image_id


def test_history(store: ImageStore) -> None:
    history = [
        History(created="2024-01-01T00:00:00Z", created_by="ADD a"),
        History(created="2024-01-02T00:00:00Z", created_by="ENV x=1", empty_layer=True),
        History(created="2024-01-03T00:00:00Z", created_by="ADD b", comment="hi"),
    ]
    parent = make_image(store, "a", refs=["base"], history=history[:1])
    image_id = make_image(store, "a", "b", refs=["app:1"], history=history, parent=parent)
    items = store.history("app:1")
    assert [i.created_by for i in items] == ["ADD b", "ENV x=1", "ADD a"]
    assert [i.id for i in items] == [image_id, parent, "<missing>"]
    assert items[0].tags == ("app:1",) and items[1].tags == ("base:latest",)
    assert items[0].comment == "hi" and items[1].size == 0 and items[0].size > 0
    assert items[2].created == 1704067200


def test_state_survives_reopen(tmp_path: Path) -> None:
    content = LocalContentStore(tmp_path / "c")
    first = ImageStore(tmp_path / "db", content)
    image_id = make_image(first, "a", refs=["keep:1"])
    first.close()
    second = ImageStore(tmp_path / "db", content)
    assert second.get("keep:1").id == image_id
    mode = sqlite3.connect(tmp_path / "db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


# --- remove --------------------------------------------------------------------------------


def test_remove_by_name_untags_until_last(store: ImageStore) -> None:
    image_id = make_image(store, "a", refs=["app:1", "app:2"])
    report = store.remove("app:1")
    assert (report.untagged, report.deleted) == (["app:1"], [])
    report = store.remove("app:2")
    assert (report.untagged, report.deleted) == (["app:2"], [image_id])
    with pytest.raises(NotFound):
        store.get(image_id)


def test_remove_by_id_with_refs_in_several_repositories(store: ImageStore) -> None:
    image_id = make_image(store, "a", refs=["app:1", "other:1"])
    with pytest.raises(
        Conflict, match=r"must be forced\) - image is referenced in multiple repositories"
    ):
        store.remove(image_id[7:19])
    report = store.remove(image_id[7:19], force=True)
    assert sorted(report.untagged) == ["app:1", "other:1"] and report.deleted == [image_id]


def test_remove_by_id_with_one_tag(store: ImageStore) -> None:
    image_id = make_image(store, "a", refs=["app:1"])
    report = store.remove(image_id)
    assert (report.untagged, report.deleted) == (["app:1"], [image_id])


def test_remove_releases_only_unshared_blobs(store: ImageStore) -> None:
    shared_parent = make_image(store, "shared", refs=["one"])
    other = make_image(store, "shared", "own", refs=["two"])
    own_layer = store.layers(other)[1][1]
    shared_layer = store.layers(other)[0][1]
    manifest = store.get(other).manifest.digest
    store.remove("two")
    content = store.content
    assert (
        not content.exists(own_layer.digest)
        and not content.exists(manifest)
        and not content.exists(other)
    )
    assert content.exists(shared_layer.digest) and store.get("one").id == shared_parent


def test_remove_cleans_digest_refs_of_the_same_repo(store: ImageStore) -> None:
    image_id = make_image(store, "a", refs=["app:1"])
    manifest = store.get(image_id).manifest.digest
    store.add(manifest, refs=[f"app@{manifest}"])
    report = store.remove("app:1")
    assert report.untagged == ["app:1", f"app@{manifest}"] and report.deleted == [image_id]


def test_remove_with_containers(store: ImageStore, users: Users) -> None:
    image_id = make_image(store, "a", refs=["app:1"])
    users[image_id] = [ImageUser("c" * 64, running=False)]
    with pytest.raises(Conflict, match="container cccccccccccc is using its referenced image"):
        store.remove("app:1")
    with pytest.raises(Conflict, match="must be forced.*stopped container"):
        store.remove(image_id)
    report = store.remove("app:1", force=True)
    assert report.untagged == ["app:1"] and report.deleted == []
    assert store.get(image_id).dangling
    users[image_id] = [ImageUser("d" * 64, running=True)]
    with pytest.raises(Conflict, match="cannot be forced.*running container dddddddddddd"):
        store.remove(image_id, force=True)
    users[image_id] = [ImageUser("d" * 64, running=False)]
    assert store.remove(image_id, force=True).deleted == [image_id]


def test_remove_with_children_and_parent_pruning(store: ImageStore) -> None:
    parent = make_image(store, "p")
    child = make_image(store, "p", "c", refs=["child"], parent=parent)
    with pytest.raises(Conflict, match="dependent child images"):
        store.remove(parent, force=True)
    report = store.remove("child")
    assert report.deleted == [child, parent]


def test_remove_noprune_keeps_parent(store: ImageStore) -> None:
    parent = make_image(store, "p")
    make_image(store, "p", "c", refs=["child"], parent=parent)
    report = store.remove("child", noprune=True)
    assert len(report.deleted) == 1 and store.get(parent).parent is None


def test_remove_keeps_tagged_parent(store: ImageStore) -> None:
    parent = make_image(store, "p", refs=["base"])
    make_image(store, "p", "c", refs=["child"], parent=parent)
    assert len(store.remove("child").deleted) == 1
    assert store.get("base").id == parent


def test_memory_content_store_works_too(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "db", MemoryContentStore())
    image_id = make_image(store, "m", refs=["mem"])
    assert store.get("mem").id == image_id
    assert store.remove("mem").deleted == [image_id]
    assert store.content.list() == []


def test_labels_are_read_from_the_config(store: ImageStore) -> None:
    make_image(store, "l", refs=["lab"], labels={"a": "b"})
    assert store.get("lab").labels == {"a": "b"}
    assert json.loads(store.config("lab").to_bytes())["config"]["Labels"] == {"a": "b"}


def test_add_checks_layers_unpack_to_their_diff_ids(store: ImageStore) -> None:
    plain = layer(store.content, "content")
    with store.content.open(plain.digest) as f:
        data = f.read()
    packed = store.content.write(gzip.compress(data), media_type=mt.OCI_LAYER_GZIP)
    wrong = ImageConfig("amd64", "linux", diff_ids=("sha256:" + "5" * 64,))
    with pytest.raises(InvalidArgument, match="does not unpack to its diff_id"):
        store.add(write_image(store.content, wrong, [packed]).digest)
    right = ImageConfig("amd64", "linux", diff_ids=(plain.digest,))
    image = store.add(write_image(store.content, right, [packed]).digest, refs=["gz"])
    assert image.size == len("content"), "images report their files' unpacked size, like docker"
    assert store.history("gz") == []
