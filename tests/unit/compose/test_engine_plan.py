"""The per-service convergence plan: keep, recreate, scale up and down."""

from __future__ import annotations

from estiba.compose import labels
from estiba.compose.engine.plan import Recreate, desired_scale, plan_service


def container(number: int, config_hash: str = "h1", image: str = "sha256:img", state: str = "running") -> dict:
    return {
        "Id": f"id{number}",
        "Names": [f"/p-web-{number}"],
        "State": state,
        "ImageID": image,
        "Labels": {labels.CONTAINER_NUMBER: str(number), labels.CONFIG_HASH: config_hash},
    }


def numbers(items: list[dict]) -> list[int]:
    return [labels.number_of(c) for c in items]


def test_an_up_to_date_container_is_kept():
    plan = plan_service("web", [container(1)], scale=1, config_hash="h1", image_id="sha256:img")
    assert numbers(plan.keep) == [1] and not plan.changes


def test_a_changed_hash_or_image_recreates():
    assert numbers(plan_service("web", [container(1)], scale=1, config_hash="h2").recreate) == [1]
    plan = plan_service("web", [container(1)], scale=1, config_hash="h1", image_id="sha256:new")
    assert numbers(plan.recreate) == [1]


def test_force_recreates_everything_and_never_recreates_nothing():
    existing = [container(1), container(2, "old")]
    assert numbers(plan_service("web", existing, scale=2, config_hash="h1", policy=Recreate.FORCE).recreate) == [1, 2]
    plan = plan_service("web", existing, scale=2, config_hash="h1", policy=Recreate.NEVER)
    assert plan.recreate == [] and numbers(plan.keep) == [1, 2]


def test_scale_up_creates_the_lowest_free_numbers():
    plan = plan_service("web", [container(2)], scale=3, config_hash="h1")
    assert plan.create == [1, 3] and numbers(plan.keep) == [2]


def test_scale_down_removes_the_highest_numbers_first():
    existing = [container(n) for n in (1, 2, 3, 4)]
    plan = plan_service("web", existing, scale=2, config_hash="h1")
    assert numbers(plan.remove) == [4, 3] and numbers(plan.keep) == [1, 2]


def test_scale_zero_removes_all():
    plan = plan_service("web", [container(1)], scale=0, config_hash="h1")
    assert numbers(plan.remove) == [1] and plan.create == []


def test_a_duplicate_number_left_by_an_interrupted_recreate_is_removed():
    first, second = container(1), container(1)
    second["Id"], second["Created"] = "later", 10
    plan = plan_service("web", [first, second], scale=1, config_hash="h1")
    assert [c["Id"] for c in plan.keep] == ["id1"] and [c["Id"] for c in plan.remove] == ["later"]


def test_desired_scale_takes_the_flag_then_scale_then_replicas():
    assert desired_scale({}) == 1
    assert desired_scale({"deploy": {"replicas": 3}}) == 3
    assert desired_scale({"scale": 2, "deploy": {"replicas": 3}}) == 2
    assert desired_scale({"scale": 2}, override=0) == 0
