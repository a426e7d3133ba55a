"""The containers a container's HostConfig.Links name, as the embedded DNS needs them."""

from __future__ import annotations

from dataclasses import dataclass, field

from estiba.daemon.container_network import link_targets
from estiba.errors import NotFound


@dataclass
class Record:
    id: str
    host_config: dict = field(default_factory=dict)


class Containers:
    """By name or id, as the container store answers."""

    def __init__(self, **by_name: Record) -> None:
        self.by_name = by_name

    def get(self, ref: str) -> Record:
        for name, record in self.by_name.items():
            if ref in (name, record.id):
                return record
        raise NotFound(f"No such container: {ref}")


def test_aliases_name_the_linked_containers_in_both_spellings() -> None:
    # compose sends "name:alias"; dockerd keeps (and docker inspect shows) "/name:/linker/alias"
    links = ["p_db_1:database", "/p_cache_1:/p_web_1/cache", "p_db_1", "p_gone_1:gone"]
    containers = Containers(
        p_web_1=Record("w" * 64, {"Links": links}),
        p_db_1=Record("d" * 64),
        p_cache_1=Record("c" * 64),
    )
    assert link_targets(containers, "w" * 64) == {"database": "d" * 64, "cache": "c" * 64, "p_db_1": "d" * 64}
    assert link_targets(containers, "d" * 64) == {}
    assert link_targets(containers, "x" * 64) == {}  # removed meanwhile
