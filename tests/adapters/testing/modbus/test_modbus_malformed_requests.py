"""Illegal or malformed requests get Modbus exception responses; the emulator stays up."""

from __future__ import annotations

import asyncio
import struct

import pytest

from adapters.testing.clock import ManualClock
from adapters.testing.modbus.emulator import ModbusChargerEmulator


def _frame(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


async def _exchange(port: int, data: bytes, timeout_s: float = 1.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(260), timeout_s)
        except TimeoutError:
            return b""
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize(
    ("pdu", "function", "code"),
    [
        (struct.pack(">BHH", 3, 500, 2), 0x83, 2),  # holding 500 is not in the map
        (struct.pack(">BHH", 4, 100, 3), 0x84, 2),  # runs past the status point into a gap
        (struct.pack(">BHH", 2, 0, 1), 0x82, 2),  # no discrete inputs on this device
        (struct.pack(">BHH", 6, 904, 1), 0x86, 2),  # energy register is read-only
        (struct.pack(">BHH", 6, 528, 80), 0x86, 3),  # 80 A > 32 A rating
        (struct.pack(">BHH", 0x55, 0, 1), 0xD5, 1),  # unknown function code (0x55 | 0x80)
    ],
)
def test_illegal_request_gets_exception_and_server_survives(pdu, function, code, run) -> None:
    async def scenario() -> None:
        emulator = ModbusChargerEmulator("phoenix_charx", clock=ManualClock())
        await emulator.start()
        try:
            answer = await _exchange(emulator.port, _frame(7, 255, pdu))
            assert len(answer) == 9, answer.hex()
            transaction, _, length, unit, fc, exc = struct.unpack(">HHHBBB", answer)
            assert (transaction, length, unit) == (7, 3, 255)
            assert (fc, exc) == (function, code)
            # Garbage then a truncated frame on another connection: no crash.
            await _exchange(emulator.port, b"\xde\xad\xbe\xef", timeout_s=0.2)
            await _exchange(emulator.port, b"\x00\x01\x00\x00\x00\x06\xff\x03", timeout_s=0.2)
            # Still serving: status register = IEC 61851 letter in the low byte.
            ok = await _exchange(emulator.port, _frame(8, 255, struct.pack(">BHH", 4, 100, 1)))
            assert ok[7:9] == b"\x04\x02" and ok[9:11] in (b"\x00B", b"\x00C")
            assert emulator.running
        finally:
            await emulator.stop()

    run(scenario())


def test_rejected_setpoint_leaves_state_unchanged(run) -> None:
    async def scenario() -> None:
        emulator = ModbusChargerEmulator("phoenix_charx", clock=ManualClock())
        await emulator.start()
        try:
            good = await _exchange(emulator.port, _frame(1, 255, struct.pack(">BHH", 6, 528, 10)))
            assert good[7] == 6
            bad = await _exchange(emulator.port, _frame(2, 255, struct.pack(">BHH", 6, 528, 99)))
            assert bad[7:9] == b"\x86\x03"
            back = await _exchange(emulator.port, _frame(3, 255, struct.pack(">BHH", 3, 528, 1)))
            assert back[9:11] == struct.pack(">H", 10)
            assert emulator.snapshot().applied_current_a == 10.0
        finally:
            await emulator.stop()

    run(scenario())


async def _read_exactly(reader: asyncio.StreamReader, n_frames: int) -> list[bytes]:
    answers = []
    for _ in range(n_frames):
        header = await asyncio.wait_for(reader.readexactly(6), 5)
        (length,) = struct.unpack(">H", header[4:6])
        answers.append(header + await asyncio.wait_for(reader.readexactly(length), 5))
    return answers


def test_pipelined_requests_are_all_answered_in_order(run) -> None:
    # Before: several requests in one TCP segment got one reply (or none).
    async def scenario() -> None:
        emulator = ModbusChargerEmulator("phoenix_charx", clock=ManualClock())
        await emulator.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
            frames = [
                _frame(1, 255, struct.pack(">BHH", 6, 528, 12)),  # write 12 A
                _frame(2, 255, struct.pack(">BHH", 3, 528, 1)),  # read it back
                _frame(3, 255, struct.pack(">BHH", 3, 500, 1)),  # illegal address
                _frame(4, 255, struct.pack(">BHH", 0x55, 0, 1)),  # unknown function
                _frame(5, 255, struct.pack(">BHH", 4, 100, 1)),  # status
            ]
            writer.write(b"".join(frames))  # one segment
            await writer.drain()
            answers = await _read_exactly(reader, len(frames))
            assert [struct.unpack(">H", a[:2])[0] for a in answers] == [1, 2, 3, 4, 5]
            assert answers[1][7:11] == b"\x03\x02" + struct.pack(">H", 12)
            assert answers[2][7:9] == b"\x83\x02"
            assert answers[3][7:9] == b"\xd5\x01"
            assert answers[4][7] == 4
            # A frame split across segments, with the next one glued to its tail.
            data = frames[1] + frames[4]
            writer.write(data[:5])
            await writer.drain()
            writer.write(data[5:])
            await writer.drain()
            assert len(await _read_exactly(reader, 2)) == 2
            writer.close()
        finally:
            await emulator.stop()

    run(scenario())


@pytest.mark.parametrize("value", [0x0001, 0x00FF, 0xFF01, 0x1234, 0xFFFF])
def test_illegal_coil_value_is_refused_with_exception_03(value, run) -> None:
    # Before: any value other than 0x0000 switched the coil ON.
    async def scenario() -> None:
        emulator = ModbusChargerEmulator("phoenix_charx", clock=ManualClock())
        await emulator.start()
        try:
            off = await _exchange(emulator.port, _frame(1, 255, struct.pack(">BHH", 5, 400, 0)))
            assert off[7:12] == b"\x05" + struct.pack(">HH", 400, 0)
            bad = await _exchange(emulator.port, _frame(2, 255, struct.pack(">BHH", 5, 400, value)))
            assert bad[7:9] == b"\x85\x03"
            state = await _exchange(emulator.port, _frame(3, 255, struct.pack(">BHH", 1, 400, 1)))
            assert state[7:10] == b"\x01\x01\x00"  # still OFF
            on = await _exchange(emulator.port, _frame(4, 255, struct.pack(">BHH", 5, 400, 0xFF00)))
            assert on[7:12] == b"\x05" + struct.pack(">HH", 400, 0xFF00)
        finally:
            await emulator.stop()

    run(scenario())
