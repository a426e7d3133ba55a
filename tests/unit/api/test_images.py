"""The image routes: list, inspect, history, tag, remove, pull/import, save, load, prune."""

from __future__ import annotations

import base64
import io
import json
import tarfile

from estiba.api.types import ImageListOptions, ImportOptions, PullOptions, RegistryAuth


def _lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.splitlines() if line]


def test_list_inspect_history(api):
    async def scenario(client):
        return (
            await client.get(
                "/images/json?all=1&digests=1",
                params={"filters": json.dumps({"dangling": ["false"]})},
            ),
            await client.get("/images/json", params={"filters": json.dumps({"colour": ["x"]})}),
            await client.get("/images/busybox/json"),
            await client.get("/v1.41/images/busybox:latest/history"),
            await client.get("/images/nope/json"),
        )

    listed, bad, inspected, history, missing = api.run(scenario)
    assert [i["RepoTags"] for i in listed.json] == [["busybox:latest"]]
    assert api.images.last("list_images")["options"] == ImageListOptions(
        all=True, digests=True, filters={"dangling": ("false",)}
    )
    assert bad.status == 400
    assert inspected.json["RepoTags"] == ["busybox:latest"]
    assert history.json[0]["CreatedBy"] == 'CMD ["sh"]'
    assert missing.status == 404 and missing.message == "No such image: nope"


def test_names_with_registries_and_slashes_route_to_the_image(api):
    api.images.add("registry.local:5000/team/app:v1")

    async def scenario(client):
        return (
            await client.get("/v1.41/images/registry.local:5000/team/app:v1/json"),
            await client.post("/images/registry.local:5000/team/app:v1/tag?repo=mirror/app&tag=v2"),
            await client.delete("/images/registry.local:5000/team/app:v1"),
        )

    inspected, tagged, removed = api.run(scenario)
    assert inspected.status == 200
    assert api.images.last("inspect_image")["ref"] == "registry.local:5000/team/app:v1"
    assert tagged.status == 201
    assert api.images.last("tag_image") == {
        "ref": "registry.local:5000/team/app:v1",
        "repo": "mirror/app",
        "tag": "v2",
    }
    assert removed.json[:2] == [
        {"Untagged": "registry.local:5000/team/app:v1"},
        {"Untagged": "mirror/app:v2"},
    ]


def test_tag_needs_a_repo_and_remove_passes_force_and_noprune(api):
    api.images.in_use.add("busybox:latest")

    async def scenario(client):
        return (
            await client.post("/images/busybox/tag"),
            await client.delete("/images/busybox"),
            await client.delete("/images/busybox?force=1&noprune=1"),
        )

    untagged, refused, forced = api.run(scenario)
    assert untagged.status == 400
    assert refused.status == 409 and "container is using its referenced image" in refused.message
    assert forced.status == 200 and forced.json[-1]["Deleted"].startswith("sha256:")
    assert api.images.last("remove_image") == {"ref": "busybox", "force": True, "prune": False}


def test_pull_streams_progress_and_reports_errors_in_the_stream(api):
    auth = base64.urlsafe_b64encode(
        json.dumps({"username": "ana", "password": "pw"}).encode()
    ).decode()

    async def scenario(client):
        pulled = await client.post(
            "/images/create?fromImage=alpine&tag=3.19", headers={"X-Registry-Auth": auth}
        )
        broken = await client.post("/images/create?fromImage=broken")
        denied = await client.post("/images/create?fromImage=private/app")
        neither = await client.post("/images/create")
        return pulled, broken, denied, neither

    pulled, broken, denied, neither = api.run(scenario)
    assert pulled.headers["Content-Type"] == "application/json"
    messages = _lines(pulled.body)
    assert messages[0] == {"status": "Pulling from library/alpine", "id": "3.19"}
    assert messages[1]["progressDetail"] == {"current": 10, "total": 100}
    assert messages[-1] == {"status": "Status: Downloaded newer image for alpine:3.19"}
    first_pull = next(args for name, args in api.images.calls if name == "pull_image")
    assert first_pull["options"] == PullOptions(
        image="alpine", tag="3.19", auth=RegistryAuth(username="ana", password="pw")
    )
    assert broken.status == 200  # the stream had begun: the error is its last message
    last = _lines(broken.body)[-1]
    assert last["error"] == "manifest unknown: the registry has no such tag"
    assert last["errorDetail"] == {"message": last["error"]}
    assert denied.status == 401  # refused before the stream began: a status code
    assert neither.status == 400


def test_import_from_the_request_body(api):
    async def scenario(client):
        query = [
            ("fromSrc", "-"),
            ("repo", "mine"),
            ("tag", "v1"),
            ("message", "hello"),
            ("changes", 'CMD ["sh"]'),
            ("changes", "ENV A=b"),
        ]
        return await client.post("/images/create", params=query, data=b"a tarball")

    reply = api.run(scenario)
    assert _lines(reply.body)[0]["status"].startswith("sha256:")
    assert api.images.loaded == [b"a tarball"]
    assert api.images.last("import_image")["options"] == ImportOptions(
        repo="mine", tag="v1", message="hello", changes=('CMD ["sh"]', "ENV A=b")
    )


def test_save_one_or_many_and_load_them_back(api):
    async def scenario(client):
        one = await client.get("/images/busybox/get")
        many = await client.get("/images/get?names=busybox&names=busybox:latest")
        none = await client.get("/images/get")
        missing = await client.get("/images/get?names=nope")
        loaded = await client.post(
            "/images/load?quiet=1", data=one.body, headers={"Content-Type": "application/x-tar"}
        )
        return one, many, none, missing, loaded

    one, many, none, missing, loaded = api.run(scenario)
    assert one.headers["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(one.body)) as tar:
        assert tar.getnames() == ["manifest.json"]
    assert api.images.last("save_images")["refs"] == ["nope"]
    assert [args["refs"] for name, args in api.images.calls if name == "save_images"][:2] == [
        ["busybox"],
        ["busybox", "busybox:latest"],
    ]
    assert none.status == 400
    assert missing.status == 404
    assert _lines(loaded.body) == [{"stream": "Loaded image: busybox:latest\n"}]
    assert api.images.last("load_images") == {"quiet": True}


def test_prune(api):
    api.images.add("old:1").tags.clear()

    async def scenario(client):
        return (
            await client.post(
                "/images/prune", params={"filters": json.dumps({"dangling": ["true"]})}
            ),
            await client.post(
                "/images/prune", params={"filters": json.dumps({"reference": ["x"]})}
            ),
        )

    pruned, bad = api.run(scenario)
    assert pruned.json["SpaceReclaimed"] == 1_234_567
    assert pruned.json["ImagesDeleted"][0]["Deleted"].startswith("sha256:")
    assert api.images.last("prune_images")["filters"] == {"dangling": ("true",)}
    assert bad.status == 400
