"""Fuzzing the Modbus TCP emulator: random and malformed requests (any function code, address,
count, value; wrong lengths; pipelined bursts) over real TCP on 127.0.0.1.

Every complete request gets exactly one answer with its transaction id: a normal response or
an exception response (function | 0x80, codes 01-04); the answers of a pipelined burst come in
order; the server stays up (a probe read answers after every example), logs no traceback and its
memory stays bounded. Default run a few seconds; TWIN_FUZZ_EXAMPLES=5000 for a longer one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.testing.clock import ManualClock
from adapters.testing.modbus.emulator import ModbusChargerEmulator

EXAMPLES = int(os.environ.get("TWIN_FUZZ_EXAMPLES", "150"))
RSS_BOUND_MB = 30.0
"""Growth allowed over a run: a connection queues at most 64 frames (then stops reading) of at
most 260 bytes; nothing else is kept per request."""
UNIT = 255
PROBE = struct.pack(">BHH", 4, 100, 1)  # the status input register of phoenix_charx

addresses = st.sampled_from([0, 100, 120, 400, 500, 528, 529, 904, 905, 65535]) | st.integers(
    0, 65535
)
counts = st.sampled_from([1, 1, 2, 0, 3, 125, 126, 2000, 2001, 65535]) | st.integers(0, 65535)


@st.composite
def pdus(draw: st.DrawFn) -> bytes:
    """A request PDU: well-formed for a known function, or any bytes under any function."""
    function = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 15, 16, 22, 23]) | st.integers(0, 255))
    shape = draw(st.sampled_from(["read", "write1", "writen", "raw"]))
    if shape == "read":
        return struct.pack(">BHH", function, draw(addresses), draw(counts))
    if shape == "write1":
        value = draw(st.sampled_from([0, 0xFF00, 1, 0xFFFF, 10, 80]) | st.integers(0, 65535))
        return struct.pack(">BHH", function, draw(addresses), value)
    if shape == "writen":
        values = draw(st.lists(st.integers(0, 65535), max_size=8))
        count = draw(st.sampled_from([len(values), len(values) + 1, 0]) | counts)
        byte_count = draw(st.sampled_from([2 * len(values), 2 * len(values) + 1, 0, 255]))
        body = struct.pack(">HHB", draw(addresses), count, byte_count % 256)
        return bytes([function]) + body + b"".join(struct.pack(">H", v) for v in values)
    return bytes([function]) + draw(st.binary(max_size=40))


def _frame(transaction: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, UNIT) + pdu


def _read_answer(sock: socket.socket) -> bytes:
    header = _recv_exactly(sock, 6)
    (length,) = struct.unpack(">H", header[4:6])
    return header + _recv_exactly(sock, length)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[ModbusChargerEmulator, list]]:
    loop = asyncio.new_event_loop()
    errors: list = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    device = ModbusChargerEmulator("phoenix_charx", clock=ManualClock())
    asyncio.run_coroutine_threadsafe(device.start(), loop).result(10)
    yield device, errors
    asyncio.run_coroutine_threadsafe(device.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_random_requests_get_one_answer_each_in_order(emulator, caplog) -> None:
    device, loop_errors = emulator
    caplog.set_level(logging.WARNING)
    tried: Counter = Counter()
    before_mb = psutil.Process().memory_info().rss / 2**20
    holder = {"sock": socket.create_connection(("127.0.0.1", device.port), timeout=5)}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(pdus(), min_size=1, max_size=5))
    def burst(requests: list[bytes]) -> None:
        tried["bursts"] += 1
        tried["requests"] += len(requests)
        frames = [_frame(1000 + i, pdu) for i, pdu in enumerate(requests)]
        frames.append(_frame(9999, PROBE))
        try:
            check(holder["sock"], requests, b"".join(frames))
        except BaseException:
            # A failed example leaves answers unread: the next one starts on a new connection.
            holder["sock"].close()
            holder["sock"] = socket.create_connection(("127.0.0.1", device.port), timeout=5)
            raise

    def check(sock: socket.socket, requests: list[bytes], data: bytes) -> None:
        sock.sendall(data)  # pipelined: one segment
        for index, pdu in enumerate(requests):
            answer = _read_answer(sock)
            transaction, protocol, _length, unit = struct.unpack(">HHHB", answer[:7])
            assert (transaction, protocol, unit) == (1000 + index, 0, UNIT), answer.hex()
            function = answer[7]
            if function & 0x80:
                tried["exceptions"] += 1
                assert function == (pdu[0] | 0x80) or pdu[0] >= 0x80, (pdu.hex(), answer.hex())
                assert len(answer) == 9 and answer[8] in (1, 2, 3, 4), answer.hex()
            else:
                tried["normal"] += 1
                assert function == pdu[0], (pdu.hex(), answer.hex())
                if function == 5:  # a coil write is only ever echoed for a legal value
                    assert answer[10:12] in (b"\x00\x00", b"\xff\x00"), answer.hex()
        probe = _read_answer(sock)
        assert probe[:2] == struct.pack(">H", 9999) and probe[7] == 4, probe.hex()

    try:
        burst()
    finally:
        holder["sock"].close()
    grown_mb = psutil.Process().memory_info().rss / 2**20 - before_mb
    assert grown_mb < RSS_BOUND_MB, f"RSS grew {grown_mb:.0f} MB"
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert tracebacks == [], [r.getMessage()[:200] for r in tracebacks]
    assert loop_errors == []
    assert device.running
    print(f"\nModbus fuzz: {dict(tried)}, RSS {grown_mb:+.1f} MB")
