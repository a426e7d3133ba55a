"""POST /estiba/volumes/{name}/replace?from=SOURCE: the backend's replace_volume_data,
and a clear error without `from`."""

from __future__ import annotations

import dataclasses
from typing import Any

from estiba.errors import Conflict
from tests.unit.api.test_volume_routes import FakeVolumes


class ReplacingVolumes(FakeVolumes):
    async def replace_volume_data(self, name: str, source: str) -> dict:
        if name == "busy":
            raise Conflict("volume busy is in use by running containers - [abc]", hint="stop them first")
        self.calls.append(("replace", (name, source)))
        return {"Name": name}


def test_replace_route(api: Any) -> None:
    volumes = ReplacingVolumes()
    api.backends = dataclasses.replace(api.backends, volumes=volumes)

    async def scenario(client):  # noqa: ANN001, ANN202
        done = await client.post("/estiba/volumes/data/replace?from=data.snap0")
        missing = await client.post("/estiba/volumes/data/replace")
        busy = await client.post("/estiba/volumes/busy/replace?from=x")
        return done, missing, busy

    done, missing, busy = api.run(scenario)
    assert done.status == 200 and done.json == {"Name": "data"}
    assert volumes.calls == [("replace", ("data", "data.snap0"))]
    assert missing.status == 400 and "`from` parameter" in missing.message
    assert busy.status == 409 and "in use by running containers" in busy.message
