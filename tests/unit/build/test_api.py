"""POST /build and POST /build/prune over a fake BuildBackend: the query typed, the
context handed over, the output and a failure in Docker's JSON stream."""

from __future__ import annotations

import json
from dataclasses import replace

from estiba.api.types import BuildCachePruneReport, Progress
from estiba.build.errors import BuildFailed
from tests.unit.api.conftest import api  # noqa: F401


class FakeBuilds:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.options = None
        self.context = b""

    async def build(self, context, options):
        self.options = options
        async for chunk in context:
            self.context += chunk

        async def stream():
            yield Progress(stream="Step 1/1 : FROM busybox\n")
            if self.fail:
                raise BuildFailed("The command '/bin/sh -c false' returned a non-zero code: 7", exit_code=7)
            yield Progress(aux={"ID": "sha256:" + "a" * 64})
            yield Progress(stream="Successfully built aaaaaaaaaaaa\n")

        return stream()

    async def prune_cache(self, *, all, filters):
        return BuildCachePruneReport(deleted=("sha256:" + "b" * 64,), space_reclaimed=42)


def lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_build_query_and_stream(api):  # noqa: F811
    builds = FakeBuilds()
    api.backends = replace(api.backends, build=builds)
    query = (
        "t=one:1&t=two&dockerfile=sub/Df&buildargs=" + json.dumps({"A": "1", "B": None})
        + "&labels=" + json.dumps({"l": "v"}) + "&target=build&nocache=1&pull=1&q=0"
        + "&networkmode=none&extrahosts=a:1.2.3.4,b:5.6.7.8"
    )  # fmt: skip
    reply = api.run(lambda client: client.post(f"/v1.41/build?{query}", data=b"tar bytes"))
    assert reply.status == 200
    assert lines(reply.body) == [
        {"stream": "Step 1/1 : FROM busybox\n"},
        {"aux": {"ID": "sha256:" + "a" * 64}},
        {"stream": "Successfully built aaaaaaaaaaaa\n"},
    ]
    options = builds.options
    assert options.tags == ("one:1", "two") and options.dockerfile == "sub/Df"
    assert options.build_args == {"A": "1", "B": None} and options.labels == {"l": "v"}
    assert options.target == "build" and options.no_cache and options.pull and not options.quiet
    assert options.network_mode == "none" and options.extra_hosts == ("a:1.2.3.4", "b:5.6.7.8")
    assert builds.context == b"tar bytes"


def test_a_failed_build_ends_the_stream_with_its_code(api):  # noqa: F811
    api.backends = replace(api.backends, build=FakeBuilds(fail=True))
    reply = api.run(lambda client: client.post("/v1.41/build", data=b""))
    message = "The command '/bin/sh -c false' returned a non-zero code: 7"
    assert lines(reply.body)[-1] == {"errorDetail": {"code": 7, "message": message}, "error": message}


def test_bad_query_and_missing_backend(api):  # noqa: F811
    reply = api.run(lambda client: client.post("/v1.41/build"))
    assert reply.status == 501
    api.backends = replace(api.backends, build=FakeBuilds())
    reply = api.run(lambda client: client.post("/v1.41/build?buildargs=[1]"))
    assert reply.status == 400 and "buildargs" in reply.message


def test_prune(api):  # noqa: F811
    api.backends = replace(api.backends, build=FakeBuilds())
    reply = api.run(lambda client: client.post("/v1.41/build/prune?all=1"))
    assert reply.json == {"CachesDeleted": ["sha256:" + "b" * 64], "SpaceReclaimed": 42}
