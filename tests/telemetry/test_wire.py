"""The wire format (schema twin.telemetry v1), checked against frames built by hand with struct
and json - not with the encoder under test."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from twin.telemetry import TelemetryFormatError, decode_snapshot
from twin.telemetry.wire import MAGIC, encode_meta, encode_snapshot, json_number


def hand_frame(header: dict, meta: dict, payload: bytes) -> bytes:
    head, body = json.dumps(header).encode(), json.dumps(meta).encode()
    return struct.pack("<4sII", b"TWT1", len(head), len(body)) + head + body + payload


def test_bad_messages_are_rejected_with_a_reason():
    with pytest.raises(TelemetryFormatError, match="not a twin telemetry message"):
        decode_snapshot(b"HELLO WORLD, not telemetry")
    head = json.dumps({"schema": "twin.telemetry", "version": 99}).encode()
    frame = struct.pack("<4sII", MAGIC, len(head), 2) + head + b"{}"
    with pytest.raises(TelemetryFormatError, match="v99"):
        decode_snapshot(frame)
    with pytest.raises(TelemetryFormatError, match="too short"):
        decode_snapshot(b"TW")


def test_a_hand_built_frame_decodes():
    payload = np.array([1.0, 0.5, 7.0, 0.0, 10.0, 900.0, 20.0], dtype="<f8").tobytes()
    header = {
        "schema": "twin.telemetry",
        "version": 1,
        "kind": "end",
        "run_id": "abc",
        "time_s": 900,
        "time_local": "2025-06-04T00:15:00+09:00",
        "arrays": {"vm_pu": [0, 2], "line_loading_pct": [16, 1]},
        "history": {"rows": 2, "cols": 2, "offset": 24},
    }
    snap = decode_snapshot(hand_frame(header, {"history_series": ["time_s", "p_kw"]}, payload))
    assert snap.kind == "end" and snap.run_id == "abc" and snap.time_s == 900
    assert snap.time_local.hour == 0 and snap.time_local.minute == 15
    np.testing.assert_array_equal(snap.arrays["vm_pu"], [1.0, 0.5])
    np.testing.assert_array_equal(snap.arrays["line_loading_pct"], [7.0])
    # row-major 2 x 2 block after 3 array values (24 bytes): rows (0, 10) and (900, 20)
    np.testing.assert_array_equal(snap.history["time_s"], [0.0, 900.0])
    np.testing.assert_array_equal(snap.history["p_kw"], [10.0, 20.0])


def test_a_payload_shorter_than_its_header_says_is_rejected():
    header = {
        "schema": "twin.telemetry",
        "version": 1,
        "arrays": {"vm_pu": [0, 4]},  # 32 bytes announced
        "history": {"rows": 0, "cols": 1, "offset": 32},
    }
    frame = hand_frame(header, {}, np.zeros(2, dtype="<f8").tobytes())
    with pytest.raises(TelemetryFormatError, match="does not match its header"):
        decode_snapshot(frame)


def test_encoded_frame_layout_is_prefix_header_meta_payload():
    meta = encode_meta({"scenario": "x", "history_series": ["time_s", "p_kw"]})
    history = np.array([[0.0, 1.5], [900.0, 2.5]])
    frame = encode_snapshot(
        kind="step",
        run_id="r1",
        seq=3,
        sent_unix_s=12.5,
        content={"time_s": 900, "grid": {"vm_min_pu": None}},
        arrays={"vm_pu": np.array([1.0, 0.98]), "trafo_loading_pct": np.array([55.0])},
        history=history,
        history_stride=2,
        meta=meta,
        final={"status": "completed"},
    )
    magic, head_len, meta_len = struct.unpack_from("<4sII", frame)
    assert magic == b"TWT1" and meta_len == len(meta)
    header = json.loads(frame[12 : 12 + head_len])
    assert list(header) == [
        "schema",
        "version",
        "kind",
        "run_id",
        "seq",
        "sent_unix_s",
        "time_s",
        "grid",
        "arrays",
        "history",
        "final",
    ]
    assert (header["schema"], header["version"], header["kind"]) == ("twin.telemetry", 1, "step")
    assert (header["run_id"], header["seq"], header["sent_unix_s"]) == ("r1", 3, 12.5)
    assert header["grid"] == {"vm_min_pu": None} and header["final"] == {"status": "completed"}
    # vm_pu: 2 values at byte 0, trafo: 1 value at byte 16, history after 3 values (24 bytes)
    assert header["arrays"] == {"vm_pu": [0, 2], "trafo_loading_pct": [16, 1]}
    assert header["history"] == {"rows": 2, "cols": 2, "offset": 24, "stride_steps": 2}
    assert frame[12 + head_len : 12 + head_len + meta_len] == meta
    payload = frame[12 + head_len + meta_len :]
    assert payload == struct.pack("<7d", 1.0, 0.98, 55.0, 0.0, 1.5, 900.0, 2.5)
    # compact separators: the header has no spaces after ',' or ':'
    assert b", " not in frame[12 : 12 + head_len] and b": " not in frame[12 : 12 + head_len]


def test_a_step_frame_has_no_final_and_round_trips():
    frame = encode_snapshot(
        kind="step",
        run_id="r2",
        seq=1,
        sent_unix_s=0.0,
        content={"time_s": 0, "time_local": "2025-06-04T00:00:00+09:00"},
        arrays={},
        history=np.zeros((0, 1)),
        history_stride=1,
        meta=encode_meta({"history_series": ["time_s"]}),
    )
    snap = decode_snapshot(frame, received_s=4.0)
    assert "final" not in snap.header and snap.received_s == 4.0
    assert snap.arrays == {} and len(snap.history["time_s"]) == 0


def test_json_number_turns_what_json_cannot_say_into_null():
    assert json_number(1) == 1.0 and json_number(np.float64(2.5)) == 2.5
    for value in (math.nan, math.inf, -math.inf, None, "kW", np.nan):
        assert json_number(value) is None
