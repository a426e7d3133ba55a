"""API summaries to the rows `ps` and `images` print: docker's truncations and wording."""

from __future__ import annotations

from estiba.cli.listing import container_row, filters_param, image_rows

SUMMARY = {
    "Id": "0123456789ab" + "c" * 52,
    "Names": ["/web", "/other/link"],
    "Image": "busybox",
    "Command": "sh -c 'while true; do sleep 1; done'",
    "Created": 1000,
    "Ports": [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"},
    ],
    "Labels": {"a": "b"},
    "State": "running",
    "Status": "Up 3 seconds",
    "SizeRw": 0,
    "SizeRootFs": 1234567,
}


def test_container_row_truncates_like_docker():
    row = container_row(SUMMARY, now=1065)
    assert row["ID"] == "0123456789ab"
    assert row["Names"] == "web"
    assert row["Command"] == '"sh -c \'while true; …"'  # 20 wide with the ellipsis
    assert row["RunningFor"] == "About a minute ago"
    assert row["Ports"] == "0.0.0.0:8080->80/tcp, 443/tcp"
    assert row["Size"] == "0B (virtual 1.23MB)"  # docker: 3 significant digits
    assert row["CreatedAt"] == "1970-01-01 00:16:40 +0000 UTC"


def test_no_trunc_shows_everything():
    row = container_row(SUMMARY, truncate=False, now=1065)
    assert row["ID"] == SUMMARY["Id"]
    assert row["Names"] == "web,other/link"
    assert row["Command"] == "\"sh -c 'while true; do sleep 1; done'\""


def test_image_rows_one_per_tag_and_none_for_dangling():
    image = {
        "Id": "sha256:" + "3726e854f7e1" + "0" * 52,
        "RepoTags": ["busybox:latest", "localhost:5000/bb:v1"],
        "Created": 0,
        "Size": 4_260_000,
    }
    rows = image_rows(image, now=7200)
    assert [(r["Repository"], r["Tag"], r["ID"], r["CreatedSince"], r["Size"]) for r in rows] == [
        ("busybox", "latest", "3726e854f7e1", "2 hours ago", "4.26MB"),
        ("localhost:5000/bb", "v1", "3726e854f7e1", "2 hours ago", "4.26MB"),
    ]
    dangling = image_rows({"Id": "sha256:abc", "RepoTags": None, "Created": 0, "Size": 0}, now=0)
    assert (dangling[0]["Repository"], dangling[0]["Tag"]) == ("<none>", "<none>")


def test_filters_become_the_apis_json():
    assert filters_param([]) is None
    assert filters_param(["status=exited", "status=created", "label=a=b"]) == (
        '{"status": ["exited", "created"], "label": ["a=b"]}'
    )
