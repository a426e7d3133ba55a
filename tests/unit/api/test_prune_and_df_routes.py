"""The routes behind `docker container prune`, `docker system df` and `docker system prune`:
POST /containers/prune, GET /system/df, and the empty network and build-cache prunes."""

from __future__ import annotations

import json
from typing import Any

from estiba.api.backend import Backends
from estiba.api.types import ContainerPruneReport, Filters


class PruningEngine:
    """The fake engine, plus the two methods these routes call (recorded)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.pruned: list[Filters] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    async def prune_containers(self, filters: Filters) -> ContainerPruneReport:
        self.pruned.append(filters)
        return ContainerPruneReport(deleted=("a" * 64,), space_reclaimed=5000)

    async def disk_usage(self) -> dict[str, Any]:
        return {"LayersSize": 7, "Images": [], "Containers": [], "Volumes": [], "BuildCache": []}


def _with_pruning(api: Any) -> PruningEngine:
    engine = PruningEngine(api.engine)
    api.backends = Backends(engine, engine, api.engine, api.images)  # type: ignore[arg-type]
    return engine


def test_container_prune_passes_the_filters_and_answers_dockers_shape(api):
    engine = _with_pruning(api)
    filters = json.dumps({"until": ["1h"], "label": ["a=b"], "label!": ["keep"]})

    async def scenario(client):
        return await client.post(f"/v1.41/containers/prune?filters={filters}")

    reply = api.run(scenario)
    assert reply.status == 200
    assert reply.json == {"ContainersDeleted": ["a" * 64], "SpaceReclaimed": 5000}
    assert engine.pruned == [{"until": ("1h",), "label": ("a=b",), "label!": ("keep",)}]


def test_container_prune_refuses_filters_it_does_not_know(api):
    engine = _with_pruning(api)
    filters = json.dumps({"status": ["exited"]})
    reply = api.run(lambda client: client.post(f"/containers/prune?filters={filters}"))
    assert reply.status == 400 and "invalid filter 'status'" in reply.message
    assert engine.pruned == []


def test_system_df_is_the_engines_document(api):
    _with_pruning(api)
    reply = api.run(lambda client: client.get("/v1.41/system/df"))
    assert reply.status == 200
    assert reply.json["LayersSize"] == 7 and reply.json["BuildCache"] == []


def test_network_and_build_cache_prunes_remove_nothing(api):
    async def scenario(client):
        return (
            await client.post("/v1.41/networks/prune"),
            await client.post('/v1.41/build/prune?filters={"until":["1h"]}'),
            await client.post("/v1.24/build/prune"),
        )

    networks, cache, too_old = api.run(scenario)
    assert networks.json == {"NetworksDeleted": None}
    assert cache.json == {"CachesDeleted": None, "SpaceReclaimed": 0}
    assert too_old.status == 400
