"""docker cp's argument rules: which side is the container, where an archive lands."""

from __future__ import annotations

import pytest

from estiba.cli.commands.cp import Endpoint, Placement, place, split_endpoint
from estiba.errors import InvalidArgument, NotFound


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        ("c1:/etc", Endpoint("c1", "/etc")),
        ("/abs:path", Endpoint("", "/abs:path")),
        ("./rel:x", Endpoint("", "./rel:x")),
        ("-", Endpoint("", "-")),
        ("plain", Endpoint("", "plain")),
        ("c1:", Endpoint("c1", "")),
    ],
)
def test_split_endpoint(text: str, endpoint: Endpoint) -> None:
    assert split_endpoint(text) == endpoint


def test_into_an_existing_directory() -> None:
    assert place(False, "file", "/dir", {"dir": True}) == Placement("/dir", "")
    assert place(True, "src", "/dir", {"dir": True}) == Placement("/dir", "")
    assert place(True, "src/.", "/dir", {"dir": True}) == Placement("/dir", ".")


def test_onto_an_existing_file() -> None:
    assert place(False, "file", "/d/target", {"dir": False}) == Placement("/d", "target")
    with pytest.raises(InvalidArgument):
        place(True, "src", "/d/target", {"dir": False})


def test_to_a_new_name() -> None:
    assert place(False, "file", "/d/new", None) == Placement("/d", "new")
    assert place(True, "src", "/d/new/", None) == Placement("/d", "new")
    with pytest.raises(NotFound):
        place(False, "file", "/d/new/", None)
