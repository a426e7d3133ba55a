"""Event filters with dockerd's semantics, and the events' JSON."""

from __future__ import annotations

from estiba.api.events import EventFilter, event_json
from estiba.api.types import Event

STARTED = Event(
    "container", "start", "abc123", 5, {"name": "web", "image": "busybox:latest", "tier": "front"}
)
EXEC = Event("container", "exec_start: sh -c id", "abc123", 6, {"name": "web"})
TAGGED = Event("image", "tag", "sha256:ff", 7, {"name": "busybox:latest"})


def matches(subject, **filters):
    return EventFilter({k: tuple(v) for k, v in filters.items()}).matches(subject)


def test_no_filters_match_everything():
    assert matches(STARTED) and matches(TAGGED)


def test_container_matches_id_prefix_or_name_of_container_events_only():
    assert matches(STARTED, container=["abc"])
    assert matches(STARTED, container=["web"])
    assert not matches(STARTED, container=["other"])
    assert not matches(TAGGED, container=["web"])


def test_keys_combine_with_and_values_with_or():
    assert matches(STARTED, type=["image", "container"], event=["start"])
    assert not matches(STARTED, type=["container"], event=["die"])


def test_event_matches_the_action_before_its_colon():
    assert matches(EXEC, event=["exec_start"])


def test_image_matches_with_or_without_the_tag():
    assert matches(STARTED, image=["busybox"])
    assert matches(STARTED, image=["busybox:latest"])
    assert matches(TAGGED, image=["busybox"])
    assert not matches(STARTED, image=["alpine"])


def test_labels_match_keys_or_key_values():
    assert matches(STARTED, label=["tier"])
    assert matches(STARTED, label=["tier=front"])
    assert not matches(STARTED, label=["tier=back"])
    assert not matches(STARTED, label=["tier", "zone"])


def test_event_json_carries_the_old_fields_for_containers():
    document = event_json(
        Event("container", "die", "abc", 1_700_000_000_123_456_789, {"image": "busybox"})
    )
    assert document == {
        "Type": "container",
        "Action": "die",
        "Actor": {"ID": "abc", "Attributes": {"image": "busybox"}},
        "scope": "local",
        "time": 1_700_000_000,
        "timeNano": 1_700_000_000_123_456_789,
        "status": "die",
        "id": "abc",
        "from": "busybox",
    }
