"""Query parameters read as dockerd reads them."""

from __future__ import annotations

import base64
import json

import pytest
from aiohttp.test_utils import make_mocked_request

from estiba.api.params import (
    container_name,
    parse_timestamp_ns,
    query_bool,
    query_filters,
    query_int,
    registry_auth,
)
from estiba.errors import InvalidArgument


def request(query: str = "", headers: dict[str, str] | None = None):
    return make_mocked_request("GET", "/x?" + query, headers=headers or {})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("all=1", True),
        ("all=true", True),
        ("all=yes", True),
        ("all=0", False),
        ("all=false", False),
        ("all=no", False),
        ("all=none", False),
        ("all=", False),
        ("all=FALSE", False),
        ("", False),
    ],
)
def test_booleans(query, expected):
    assert query_bool(request(query), "all") is expected


def test_an_absent_boolean_takes_its_default():
    assert query_bool(request(""), "stream", default=True) is True
    assert query_bool(request("stream=0"), "stream", default=True) is False


def test_integers():
    assert query_int(request("t=5"), "t") == 5
    assert query_int(request("t="), "t", default=7) == 7
    with pytest.raises(InvalidArgument, match="invalid value for t: 'soon'"):
        query_int(request("t=soon"), "t")


def test_filters_in_both_json_forms():
    accepted = frozenset({"status", "label"})
    new = json.dumps({"status": ["running", "exited"], "label": ["a=b"]})
    old = json.dumps({"status": {"running": True, "paused": False}})
    assert query_filters(request("filters=" + new), accepted) == {
        "status": ("running", "exited"),
        "label": ("a=b",),
    }
    assert query_filters(request("filters=" + old), accepted) == {"status": ("running",)}
    assert query_filters(request(""), accepted) == {}


def test_unknown_or_malformed_filters_are_refused():
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        query_filters(request("filters=" + json.dumps({"colour": ["red"]})), frozenset({"status"}))
    with pytest.raises(InvalidArgument, match="invalid filters"):
        query_filters(request("filters={oops"), frozenset({"status"}))
    with pytest.raises(InvalidArgument, match="must be a JSON object"):
        query_filters(request("filters=[1]"), frozenset({"status"}))


def test_timestamps():
    assert parse_timestamp_ns("1700000000", "since") == 1_700_000_000_000_000_000
    assert parse_timestamp_ns("1700000000.5", "since") == 1_700_000_000_500_000_000
    assert parse_timestamp_ns("1700000000.000000001", "since") == 1_700_000_000_000_000_001
    assert parse_timestamp_ns("2023-11-14T22:13:20Z", "since") == 1_700_000_000_000_000_000
    with pytest.raises(InvalidArgument, match="invalid value for until"):
        parse_timestamp_ns("yesterday", "until")


def test_container_names():
    assert container_name("web-1.a_b") == "web-1.a_b"
    assert container_name("/web") == "web"
    for bad in ("x", "-web", "we b", "wé"):
        with pytest.raises(InvalidArgument, match=r"Invalid container name"):
            container_name(bad)


def test_registry_auth_header():
    token = (
        base64.urlsafe_b64encode(
            json.dumps(
                {"username": "ana", "password": "s3cret", "serveraddress": "r:5000"}
            ).encode()
        )
        .decode()
        .rstrip("=")
    )
    auth = registry_auth(request(headers={"X-Registry-Auth": token}))
    assert (auth.username, auth.password, auth.server_address) == ("ana", "s3cret", "r:5000")
    assert registry_auth(request(headers={"X-Registry-Auth": "%%%"})).username == ""
    assert registry_auth(request()).username == ""
