"""The wire formats: Docker's attach frames, the attach request, control requests and
answers (errors come back as their kinds), and ShimSpec's JSON round trip."""

from __future__ import annotations

import pytest

from estiba.errors import Conflict, InvalidArgument, SystemFault
from estiba.shim import control
from estiba.shim.attach import AttachRequest, FrameReader, encode_frame
from estiba.shim.spec import ShimSpec


def test_a_frame_has_dockers_8_byte_header():
    assert encode_frame(1, b"hi") == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    assert encode_frame(2, b"x" * 256)[:8] == b"\x02\x00\x00\x00\x00\x00\x01\x00"
    with pytest.raises(InvalidArgument):
        encode_frame(3, b"")


def test_frames_are_reassembled_from_any_cut():
    stream = encode_frame(1, b"hello\n") + encode_frame(2, b"") + encode_frame(2, b"oops\n")
    reader = FrameReader()
    got = []
    for i in range(len(stream)):
        got += reader.feed(stream[i : i + 1])
    assert got == [(1, b"hello\n"), (2, b""), (2, b"oops\n")]
    with pytest.raises(InvalidArgument):
        FrameReader().feed(b"\x07" + b"\x00" * 7)


def test_attach_request_round_trip_and_validation():
    request = AttachRequest(stdin=True, stdout=False, stderr=True)
    assert AttachRequest.decode(request.encode()) == request
    assert AttachRequest.decode(b"{}") == AttachRequest(False, False, False)
    for bad in (b"nope", b"[]", b'{"stdin": "yes"}'):
        with pytest.raises(InvalidArgument):
            AttachRequest.decode(bad)


def test_control_requests_are_checked():
    assert control.decode_request(control.encode_request("resize", rows=3, cols=4)) == ("resize", {"rows": 3, "cols": 4})
    assert control.decode_request(control.encode_request("kill", signal=9, exec_id=None)) == ("kill", {"signal": 9})
    for bad in (b'{"op": "format_disk"}', b'{"op": "resize", "rows": 3}', b'{"op": "kill", "signal": true}',
                b'{"op": "start", "extra": 1}', b"{"):
        with pytest.raises(InvalidArgument):
            control.decode_request(bad)


def test_answers_carry_results_and_errors_by_kind():
    assert control.decode_answer(control.encode_answer({"pid": 7})) == {"pid": 7}
    with pytest.raises(Conflict, match="not running") as caught:
        control.decode_answer(control.encode_error(Conflict("container is not running", hint="start it")))
    assert caught.value.hint == "start it"
    with pytest.raises(SystemFault, match="boom"):
        control.decode_answer(control.encode_error(OSError("boom")))
    with pytest.raises(SystemFault):
        control.decode_answer(b'{"ok": false, "kind": "__class__", "error": "x"}')


def test_shim_spec_round_trips_through_json():
    spec = ShimSpec(container_id="c1", bundle="/b", state_dir="/run/x/c1", runtime="/usr/sbin/runc", tty=True,
                    open_stdin=True, stdin_once=True, log_path="/var/log/c1.json", log_max_size=1, log_max_files=2)
    assert ShimSpec.loads(spec.dumps()) == spec
    defaults = ShimSpec(container_id="c2", bundle="/b", state_dir="/s")
    assert (defaults.runtime, defaults.log_max_size, defaults.log_max_files) == ("estiba", 10 * 1024 * 1024, 3)


@pytest.mark.parametrize("fields", [
    {"container_id": "../x"}, {"bundle": "relative"}, {"runtime": "runc"}, {"log_max_files": 0},
    {"tty": "yes"}, {"log_max_size": True}, {"surprise": 1},
])
def test_bad_specs_are_refused(fields):
    data = {"container_id": "c", "bundle": "/b", "state_dir": "/s", **fields}
    with pytest.raises(InvalidArgument):
        ShimSpec.from_json(data)
    with pytest.raises(InvalidArgument):
        ShimSpec.from_json({"bundle": "/b"})
