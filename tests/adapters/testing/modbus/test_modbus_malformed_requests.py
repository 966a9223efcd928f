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
        (struct.pack(">BHH", 0x55, 0, 1), 0x80, 1),  # unknown function code
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
