"""Fuzzing the central system over real websockets: hostile OCPP-J frames (malformed JSON, wrong
types, unknown actions, huge payloads, answers nobody asked for, binary frames, deep nesting)
on 1.6, 2.0.1 and 2.1 connections.

Every frame gets what OCPP-J prescribes: a CALL (well-formed or not) an answer echoing its id,
unreadable JSON a CALLERROR with id "-1", a CALLRESULT/CALLERROR nothing at all, an oversized
frame a close with 1009; after each frame a Heartbeat is answered (the server goes on, no hang),
no traceback is logged, and memory stays bounded. Default run ~10 s; TWIN_FUZZ_EXAMPLES=5000
for a longer one (per OCPP version).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from adapters.ocpp.central_system import CentralSystem
from adapters.ocpp.config import ChargerAuth, CsmsConfig

EXAMPLES = int(os.environ.get("TWIN_FUZZ_EXAMPLES", "120"))
MAX_BYTES = 64 * 1024
PASSWORD = "fuzz-password-0123456789"
VERSIONS = {"ocpp1.6": "CP16", "ocpp2.0.1": "CP201", "ocpp2.1": "CP21"}
RSS_BOUND_MB = 60.0
"""Growth allowed over a whole run: per connection the server holds at most websockets' queue
(4 frames) of at most 64 KiB, the event ring holds 1,000 events, nothing else grows per frame."""

CALL_ERROR_CODES = {
    "FormationViolation",
    "FormatViolation",
    "ProtocolError",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "OccurrenceConstraintViolation",
    "TypeConstraintViolation",
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "GenericError",
    "SecurityError",
    "RpcFrameworkError",
    "MessageTypeNotSupported",
}
ACTIONS = [
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "MeterValues",
    "StartTransaction",
    "StopTransaction",
    "TransactionEvent",
    "Authorize",
    "DataTransfer",
    "NotifyReport",
    "NotifyEVChargingNeeds",
    "SecurityEventNotification",
    "RemoteStartTransaction",
    "SetChargingProfile",
    "NoSuchAction",
    "",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "chargePointVendor",
        "chargePointModel",
        "connectorId",
        "status",
        "errorCode",
        "meterValue",
        "transactionId",
        "idTag",
        "evseId",
        "eventType",
        "transactionInfo",
        "chargingStation",
        "vendorId",
        "data",
        "timestamp",
        "reason",
        "customData",
    ]
) | st.text(max_size=12)
payloads = st.dictionaries(field_names, json_values, max_size=6)
unique_ids = st.text(max_size=40) | st.integers() | st.none() | st.lists(st.integers(), max_size=2)


def _json_category(frame: str) -> str:
    """A parseable frame: 'silent' if it looks like an answer (type 3 or 4), else 'json'."""
    try:
        parsed = json.loads(frame)
    except (ValueError, RecursionError):
        return "json"
    if isinstance(parsed, list) and parsed and parsed[0] in (3, 4) and parsed[0] is not True:
        return "silent"
    return "json"


@st.composite
def frames(draw: st.DrawFn) -> tuple[str, str | bytes]:
    """(category, frame) - the category says what the answer must be."""
    kind = draw(
        st.sampled_from(
            [
                "call",
                "call",
                "call_bad_types",
                "result_unknown_id",
                "error_unknown_id",
                "not_json",
                "binary",
                "json_not_call",
                "wrong_arity",
                "huge",
                "deep",
            ]
        )
    )
    if kind == "call":
        unique = draw(st.text(min_size=1, max_size=36))
        action = draw(st.sampled_from(ACTIONS) | st.text(max_size=20))
        return "call", json.dumps([2, unique, action, draw(payloads)])
    if kind == "call_bad_types":
        unique = draw(unique_ids)
        action = draw(st.sampled_from(ACTIONS) | st.integers() | st.none())
        payload = draw(json_values)
        return "call", json.dumps([2, unique, action, payload])
    if kind == "result_unknown_id":
        return "silent", json.dumps([3, draw(unique_ids), draw(json_values)])
    if kind == "error_unknown_id":
        return "silent", json.dumps(
            [4, draw(unique_ids), draw(st.text(max_size=20)), draw(st.text(max_size=20)), {}]
        )
    if kind == "not_json":
        text = draw(st.text(min_size=1, max_size=200))
        try:
            json.loads(text)
        except ValueError:
            return "not_json", text
        return _json_category(text), text
    if kind == "binary":
        return "binary", draw(st.binary(min_size=1, max_size=200))
    if kind == "json_not_call":
        frame = json.dumps(draw(json_values))
        return _json_category(frame), frame
    if kind == "wrong_arity":
        items = draw(st.lists(json_values, max_size=6))
        head = draw(st.sampled_from([2, 3, 4, 5, 0, -1, "2", 2.5, None]))
        frame = json.dumps([head, *items])
        return _json_category(frame), frame
    if kind == "huge":
        size = draw(st.integers(min_value=MAX_BYTES - 200, max_value=MAX_BYTES + 200))
        frame = json.dumps([2, "huge", "DataTransfer", {"vendorId": "v", "data": ""}])
        frame = frame.replace('"data": ""', '"data": "' + "x" * max(0, size - len(frame)) + '"')
        return ("too_big" if len(frame.encode()) > MAX_BYTES else "call"), frame
    depth = draw(st.integers(min_value=100, max_value=30_000))
    return "json", "[" * depth + "]" * depth


@dataclass
class Lab:
    """A CSMS on its own thread's loop (the test body talks to it with sync websockets)."""

    system: CentralSystem
    loop: asyncio.AbstractEventLoop
    loop_errors: list[dict] = field(default_factory=list)
    tried: Counter = field(default_factory=Counter)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    config = CsmsConfig(
        port=0,
        chargers={name: ChargerAuth(password=PASSWORD) for name in VERSIONS.values()},
        meter_interval_s=60,
        response_timeout_s=0.5,
        max_message_bytes=MAX_BYTES,
        rate_messages_per_s=1e6,
        rate_burst_messages=10**6,
        rate_bytes_per_s=1e12,
        login_failures_allowed=10**6,
    )
    loop = asyncio.new_event_loop()
    system = CentralSystem(config)
    state = Lab(system, loop)
    loop.set_exception_handler(lambda _loop, context: state.loop_errors.append(context))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(system.start(), loop).result(10)
    yield state
    asyncio.run_coroutine_threadsafe(system.stop(timeout_s=2.0), loop).result(20)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    print(f"\nOCPP fuzz: frames tried per category {dict(state.tried)}")


def _connect(lab: Lab, subprotocol: str) -> ClientConnection:
    identity = VERSIONS[subprotocol]
    token = base64.b64encode(f"{identity}:{PASSWORD}".encode()).decode()
    return connect(
        f"{lab.system.url}/{identity}",
        subprotocols=[subprotocol],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Basic {token}"},
        open_timeout=10,
        max_size=None,
        proxy=None,
    )


def _next_answer(ws: ClientConnection, timeout_s: float = 5.0) -> list:
    """The next CALLRESULT/CALLERROR (CALLs of the CSMS itself are skipped, unanswered)."""
    deadline = time.monotonic() + timeout_s
    while True:
        message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if message[0] in (3, 4):
            return message


def _check_answer(category: str, frame: str | bytes, answer: list, subprotocol: str) -> None:
    if category == "call":
        sent = json.loads(frame)
        assert answer[1] == sent[1], (frame[:200], answer)
        if answer[0] == 4:
            assert answer[2] in CALL_ERROR_CODES, answer
        return
    assert answer[0] == 4 and answer[2] in CALL_ERROR_CODES, (frame[:200], answer)
    if category in ("not_json", "binary") and answer[1] == "-1":
        expected = "FormationViolation" if subprotocol == "ocpp1.6" else "RpcFrameworkError"
        assert answer[2] in (expected, "ProtocolError"), answer


def _probe(ws: ClientConnection, index: int) -> None:
    ws.send(json.dumps([2, f"probe-{index}", "Heartbeat", {}]))
    answer = _next_answer(ws)
    assert answer[:2] == [3, f"probe-{index}"], answer


@pytest.mark.parametrize("subprotocol", list(VERSIONS))
def test_hostile_frames_are_answered_per_ocpp_j(lab: Lab, subprotocol: str, caplog) -> None:
    caplog.set_level(logging.WARNING)
    before_mb = psutil.Process().memory_info().rss / 2**20
    holder: dict[str, Any] = {"ws": _connect(lab, subprotocol), "n": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(frames())
    def one_frame(example: tuple[str, str | bytes]) -> None:
        category, frame = example
        lab.tried[category] += 1
        holder["n"] += 1
        ws: ClientConnection = holder["ws"]
        ws.send(frame)
        if category == "too_big":
            with pytest.raises(ConnectionClosed) as closed:
                _next_answer(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            holder["ws"] = ws = _connect(lab, subprotocol)
        elif category == "silent":
            pass  # the probe's answer must be the next answer: nothing was sent for it
        else:
            _check_answer(category, frame, _next_answer(ws), subprotocol)
        _probe(ws, holder["n"])

    try:
        one_frame()
    finally:
        holder["ws"].close()
    grown_mb = psutil.Process().memory_info().rss / 2**20 - before_mb
    assert grown_mb < RSS_BOUND_MB, f"RSS grew {grown_mb:.0f} MB"
    assert len(lab.system.events()) <= lab.system.config.event_history
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert tracebacks == [], [r.getMessage()[:200] for r in tracebacks]
    assert lab.loop_errors == [], lab.loop_errors[:3]
    print(f"\n{subprotocol}: {holder['n']} frames, RSS {grown_mb:+.1f} MB")
