"""The json-file log: Docker's line format, its splitting of output, and rotation by size."""

from __future__ import annotations

import json
import os
import re

from estiba.shim.logs import PARTIAL_LIMIT, JsonFileLog, LineSplitter, encode_entry, read_entries
from estiba.shim.statedir import rfc3339nano

FIXED = "2024-05-01T10:00:00.5Z"


def make_log(tmp_path, **options) -> JsonFileLog:
    return JsonFileLog(str(tmp_path / "c-json.log"), clock=lambda: FIXED, **options)


def lines_of(path) -> list[str]:
    with open(path) as handle:
        return handle.read().splitlines()


def test_an_entry_is_dockers_json_line():
    line = encode_entry(b'say "h\xc3\xa9" <ok>\n', "stdout", FIXED)
    assert line == ('{"log":"say \\"hé\\" <ok>\\n","stream":"stdout","time":"' + FIXED + '"}\n').encode()
    assert json.loads(encode_entry(b"bad \xff\n", "stderr", FIXED))["log"] == "bad \ufffd\n"


def test_time_is_rfc3339nano_in_utc():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", rfc3339nano())
    assert rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert rfc3339nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339nano(1_700_000_000_000_000_001) == "2023-11-14T22:13:20.000000001Z"


def test_output_is_cut_into_lines_across_reads():
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw") == [b"one\n"]
    assert splitter.feed(b"o\nthree\nfo") == [b"two\n", b"three\n"]
    assert splitter.flush() == [b"fo"]
    assert splitter.flush() == []


def test_a_long_line_is_written_in_16k_pieces():
    splitter = LineSplitter()
    chunks = splitter.feed(b"x" * (PARTIAL_LIMIT * 2 + 10) + b"\n")
    assert [len(c) for c in chunks] == [PARTIAL_LIMIT, PARTIAL_LIMIT, 11]
    assert chunks[-1].endswith(b"\n")


def test_streams_are_split_separately_and_flushed_at_the_end(tmp_path):
    log = make_log(tmp_path)
    log.write("stdout", b"out")
    log.write("stderr", b"err\n")
    log.write("stdout", b"put\nrest")
    log.close()
    assert read_entries(log.path) == [
        {"log": "err\n", "stream": "stderr", "time": FIXED},
        {"log": "output\n", "stream": "stdout", "time": FIXED},
        {"log": "rest", "stream": "stdout", "time": FIXED},
    ]


def test_rotation_keeps_max_files_and_drops_the_oldest(tmp_path):
    log = make_log(tmp_path, max_size=300, max_files=3)
    for i in range(40):
        log.write("stdout", f"line {i:02d}\n".encode())
    log.close()
    names = sorted(os.listdir(tmp_path))
    assert names == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    for name in names:
        size = os.path.getsize(tmp_path / name)
        assert size < 300 + 100  # rotated once it reached the limit
    entries = read_entries(log.path, 3)
    numbers = [int(e["log"].split()[1]) for e in entries]
    assert numbers == list(range(numbers[0], 40)) and numbers[0] > 0


def test_one_file_means_truncate_on_rotation(tmp_path):
    log = make_log(tmp_path, max_size=200, max_files=1)
    for i in range(20):
        log.write("stdout", f"line {i}\n".encode())
    log.close()
    assert os.listdir(tmp_path) == ["c-json.log"]
    assert lines_of(log.path)[-1].startswith('{"log":"line 19\\n"')


def test_an_existing_log_is_appended_to_and_counted(tmp_path):
    first = make_log(tmp_path, max_size=10_000)
    first.write("stdout", b"before restart\n")
    first.close()
    second = make_log(tmp_path, max_size=10_000)
    assert second.size == os.path.getsize(first.path)
    second.write("stdout", b"after\n")
    second.close()
    assert [e["log"] for e in read_entries(first.path)] == ["before restart\n", "after\n"]


def test_zero_max_size_never_rotates(tmp_path):
    log = make_log(tmp_path, max_size=0)
    for _ in range(100):
        log.write("stdout", b"x" * 100 + b"\n")
    log.close()
    assert os.listdir(tmp_path) == ["c-json.log"]
