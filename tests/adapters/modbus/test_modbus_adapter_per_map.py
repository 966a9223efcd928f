"""Adapter against the emulator over real Modbus TCP on 127.0.0.1, for every shipped map.

The emulator runs on a ManualClock so physics time is exact; the adapter's refresh task is
parked (refresh_s = 3600 s) unless a test needs it, so expiries happen only when a test says.
Expected values come from hand arithmetic in the EXPECTED table, not from the code under test.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

import pytest
from pymodbus.client import AsyncModbusTcpClient

from adapters.base import ChargerAdapter, ChargerStatus, ChargerUnavailable, SetpointRejected
from adapters.modbus.client_adapter import ModbusChargerAdapter
from adapters.testing.clock import ManualClock
from adapters.testing.modbus.emulator import ModbusChargerEmulator


@dataclass(frozen=True)
class Expected:
    power_11kw: float  # kW measured after set_power(11)
    power_7kw: float  # kW measured after set_power(7)
    failsafe_kw: float  # kW after the set-point expired
    expiry_s: float  # expiry the adapter configures / the map declares
    energy_resolution_kwh: float  # register resolution of the energy point


# 11 kW: 11000 / (3 x 230) = 15.94 A -> 15 A (1 A step) or 15.9 A (0.1 A step).
# 7 kW: 7000 / 690 = 10.14 A -> 10 A (6.9 kW) or 10.1 A (6.969 kW).
# Failsafe 6 A x 690 V = 4.14 kW; SunSpec reverts to WSetRvrt = 0 W.
EXPECTED = {
    "phoenix_charx": Expected(15 * 0.690, 10 * 0.690, 6 * 0.690, 60.0, 0.001),
    "abb_terra_ac": Expected(15.9 * 0.690, 10.1 * 0.690, 6 * 0.690, 60.0, 0.001),
    "alfen_eve": Expected(15.9 * 0.690, 10.1 * 0.690, 6 * 0.690, 60.0, 1e-6),
    "vestel_evc04": Expected(15 * 0.690, 10 * 0.690, 6 * 0.690, 20.0, 0.001),
    "sunspec_der": Expected(11.0, 7.0, 0.0, 30.0, 0.001),
}
MAPS = sorted(EXPECTED)


async def _started(name: str, clock: ManualClock, port: int = 0) -> ModbusChargerEmulator:
    emulator = ModbusChargerEmulator(name, port=port, clock=clock)
    await emulator.start()
    return emulator


def _adapter(name: str, port: int, **kwargs) -> ModbusChargerAdapter:
    options = {
        "timeout_s": 1.0,
        "refresh_s": 3600.0,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
    }
    options.update(kwargs)
    return ModbusChargerAdapter("127.0.0.1", port, name, **options)


@pytest.mark.parametrize("name", MAPS)
def test_power_energy_and_status(name: str, run) -> None:
    exp = EXPECTED[name]

    async def scenario() -> None:
        clock = ManualClock()
        emulator = await _started(name, clock)
        adapter = _adapter(name, emulator.port)
        try:
            assert isinstance(adapter, ChargerAdapter)
            await adapter.connect()
            assert adapter.charger_id == f"127.0.0.1:{emulator.port}/{adapter.regmap.unit_id}"

            await adapter.set_power(0.0)
            clock.advance(5.0)
            paused = await adapter.read()
            assert paused.power_kw == pytest.approx(0.0, abs=1e-3)
            assert paused.status == ChargerStatus.PLUGGED

            await adapter.set_power(11.0)
            clock.advance(5.0)  # ramp 4 kW/s reaches 11 kW in < 3 s
            first = await adapter.read()
            assert first.power_kw == pytest.approx(exp.power_11kw, abs=0.01)
            assert first.status == ChargerStatus.CHARGING
            # 90 s of charging, refreshing by hand every 15 s (< every map's expiry).
            for _ in range(6):
                clock.advance(15.0)
                await adapter.set_power(11.0)
            second = await adapter.read()
            delivered_kwh = second.energy_kwh - first.energy_kwh
            assert delivered_kwh == pytest.approx(
                exp.power_11kw * 90.0 / 3600.0, abs=1.5 * exp.energy_resolution_kwh
            )
            assert second.timestamp_s >= first.timestamp_s
            if second.soc is not None:
                # 60 kWh EV at SoC 0.5 gained the delivered energy (0.1 % register steps).
                assert second.soc == pytest.approx(emulator.ev.soc, abs=0.001) and second.soc > 0.5

            emulator.unplug()
            unplugged = await adapter.read()
            assert unplugged.power_kw == pytest.approx(0.0, abs=1e-3)
            if name == "sunspec_der":
                # DER models cannot tell "no EV"; SoC reads "not implemented" instead.
                assert unplugged.soc is None
                assert unplugged.status == ChargerStatus.PLUGGED
            else:
                assert unplugged.status == ChargerStatus.AVAILABLE
        finally:
            await adapter.close()
            await emulator.stop()

    run(scenario())


RAW_SETPOINT_CHECKS = {
    # Independent decoding of the set-point registers after set_power(11).
    "phoenix_charx": [("holding", 528, 1, lambda r: r == [15]), ("coil", 400, 1, lambda b: b[0])],
    "abb_terra_ac": [("holding", 0x400E, 2, lambda r: (r[0] << 16) + r[1] == 15900)],
    "alfen_eve": [
        (
            "holding",
            1210,
            2,
            lambda r: abs(struct.unpack(">f", struct.pack(">HH", *r))[0] - 15.9) < 1e-5,
        )
    ],
    "vestel_evc04": [
        ("holding", 5004, 1, lambda r: r == [15]),
        ("holding", 2002, 1, lambda r: r == [20]),
    ],
    "sunspec_der": [
        (
            "holding",
            40179,
            4,
            lambda r: (
                r[0] == 1
                and r[1] == 1
                and struct.unpack(">i", struct.pack(">HH", *r[2:]))[0] == -1100
            ),
        )
    ],
}


@pytest.mark.parametrize("name", MAPS)
def test_setpoint_registers_on_the_wire(name: str, run) -> None:
    async def scenario() -> None:
        emulator = await _started(name, ManualClock())
        adapter = _adapter(name, emulator.port)
        raw = AsyncModbusTcpClient("127.0.0.1", port=emulator.port, timeout=1, retries=0)
        try:
            await adapter.connect()
            await adapter.set_power(11.0)
            await raw.connect()
            unit = adapter.regmap.unit_id
            for table, address, count, check in RAW_SETPOINT_CHECKS[name]:
                if table == "coil":
                    response = await raw.read_coils(address, count=count, device_id=unit)
                    assert check(response.bits)
                else:
                    response = await raw.read_holding_registers(
                        address, count=count, device_id=unit
                    )
                    assert not response.isError() and check(response.registers), response
        finally:
            raw.close()
            await adapter.close()
            await emulator.stop()

    run(scenario())


@pytest.mark.parametrize("name", MAPS)
def test_setpoint_expiry_falls_back_to_failsafe(name: str, run) -> None:
    exp = EXPECTED[name]

    async def scenario() -> None:
        clock = ManualClock()
        emulator = await _started(name, clock)
        adapter = _adapter(name, emulator.port)  # refresh parked: nobody refreshes
        try:
            await adapter.connect()
            await adapter.set_power(11.0)
            clock.advance(exp.expiry_s - 2.0)
            # Look inside the emulator, not over Modbus: on ABB any request is a refresh.
            before = emulator.snapshot()
            assert before.power_kw == pytest.approx(exp.power_11kw, abs=0.01)
            assert before.failsafe_events == 0 and not before.in_failsafe
            clock.advance(8.0)  # past the expiry + ramp time to the failsafe value
            after = await adapter.read()
            assert after.power_kw == pytest.approx(exp.failsafe_kw, abs=0.01)
            assert emulator.failsafe_events == 1
        finally:
            await adapter.close()
            await emulator.stop()

    run(scenario())


@pytest.mark.parametrize("name", MAPS)
def test_reconnect_reapplies_the_latest_setpoint(name: str, run) -> None:
    exp = EXPECTED[name]

    async def scenario() -> None:
        clock = ManualClock()
        emulator = await _started(name, clock)
        port = emulator.port
        adapter = _adapter(name, port)
        try:
            await adapter.connect()
            await adapter.set_power(11.0)
            clock.advance(5.0)
            assert (await adapter.read()).power_kw == pytest.approx(exp.power_11kw, abs=0.01)

            await emulator.stop()
            with pytest.raises(ChargerUnavailable):
                # Until the close reaches the client (a loop turn; longer on a loaded machine).
                deadline = asyncio.get_running_loop().time() + 10.0
                while asyncio.get_running_loop().time() < deadline:
                    await adapter.read()
                    await asyncio.sleep(0.02)
            # The charger is alone: its set-point expires and it runs on the failsafe.
            clock.advance(exp.expiry_s + 5.0)
            assert emulator.snapshot().in_failsafe
            # A new set-point while down is refused now but remembered.
            with pytest.raises(ChargerUnavailable):
                await adapter.set_power(7.0)

            await emulator.start()
            assert emulator.port == port
            # Wait for the reconnect to finish: `connected` turns True while the adapter is still
            # configuring and re-sending, a moment before it counts the reconnect.
            deadline = asyncio.get_running_loop().time() + 10.0
            while asyncio.get_running_loop().time() < deadline:
                if (
                    adapter.reconnects >= 1
                    and adapter.connected
                    and not emulator.snapshot().in_failsafe
                ):
                    break
                await asyncio.sleep(0.05)
            assert adapter.reconnects >= 1
            clock.advance(5.0)
            reading = await adapter.read()
            assert reading.power_kw == pytest.approx(exp.power_7kw, abs=0.01)
        finally:
            await adapter.close()
            await emulator.stop()

    run(scenario())


def test_connect_to_nothing_raises_charger_unavailable(run) -> None:
    async def scenario() -> None:
        emulator = await _started("alfen_eve", ManualClock())
        port = emulator.port
        await emulator.stop()  # the port is now closed
        adapter = _adapter("alfen_eve", port)
        with pytest.raises(ChargerUnavailable, match=f"127.0.0.1:{port}"):
            await adapter.connect()
        with pytest.raises(ChargerUnavailable):
            await adapter.read()
        await adapter.close()

    run(scenario())


def test_discharge_on_sunspec_and_refusal_on_charge_only(run) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        der = await _started("sunspec_der", clock)
        ac = await _started("abb_terra_ac", clock)
        der_adapter = _adapter("sunspec_der", der.port)
        ac_adapter = _adapter("abb_terra_ac", ac.port)
        try:
            await der_adapter.connect()
            await ac_adapter.connect()
            await der_adapter.set_power(-7.0)
            clock.advance(5.0)
            start = await der_adapter.read()
            assert start.power_kw == pytest.approx(-7.0, abs=0.01)
            assert start.status == ChargerStatus.DISCHARGING
            clock.advance(20.0)
            end = await der_adapter.read()
            # Net meter falls by 7 kW x 20 s = 38.9 Wh (1 Wh registers).
            assert end.energy_kwh - start.energy_kwh == pytest.approx(-7.0 * 20 / 3600, abs=0.0015)

            await ac_adapter.set_power(11.0)
            with pytest.raises(SetpointRejected, match="charge-only"):
                await ac_adapter.set_power(-3.0)
            clock.advance(5.0)
            assert (await ac_adapter.read()).power_kw == pytest.approx(0.0, abs=1e-3)
        finally:
            await der_adapter.close()
            await ac_adapter.close()
            await der.stop()
            await ac.stop()

    run(scenario())
