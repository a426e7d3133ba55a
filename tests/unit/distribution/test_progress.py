"""The JSON progress messages, in the shapes the docker CLI draws."""

from __future__ import annotations

from estiba.api.streams import progress_json
from estiba.distribution.progress import LayerProgress, bar, short, status

DIGEST = "sha256:" + "ab" * 32


def test_status_messages_carry_the_short_layer_id() -> None:
    assert progress_json(status("Pulling fs layer", DIGEST)) == {
        "status": "Pulling fs layer",
        "id": "abababababab",
    }
    assert progress_json(status("Pulling from library/busybox", "latest")) == {
        "status": "Pulling from library/busybox",
        "id": "latest",
    }
    assert short(DIGEST) == "abababababab"


def test_downloading_messages_are_throttled_and_complete() -> None:
    sent = []
    now = [0.0]
    progress = LayerProgress(sent.append, DIGEST, 1000, "Downloading", interval=0.1,
                             clock=lambda: now[0])  # fmt: skip
    progress.update(100)
    progress.update(200)  # too soon: dropped
    now[0] = 0.2
    progress.update(300)
    progress.update(1000)  # the end always goes out
    documents = [progress_json(m) for m in sent]
    assert [d["progressDetail"] for d in documents] == [
        {"current": 100, "total": 1000},
        {"current": 300, "total": 1000},
        {"current": 1000, "total": 1000},
    ]
    assert all(d["status"] == "Downloading" and d["id"] == "abababababab" for d in documents)
    assert documents[-1]["progress"].startswith("[" + "=" * 50 + "]")


def test_bar_text() -> None:
    assert bar(500, 1000).startswith("[" + "=" * 24 + ">")
    assert "500B/1kB" in bar(500, 1000).replace(" ", "")
