"""Real wall-clock refresh: the adapter's task keeps short-lived set-points alive."""

from __future__ import annotations

import asyncio

import pytest

from adapters.modbus.client_adapter import ModbusChargerAdapter
from adapters.testing.modbus.emulator import ModbusChargerEmulator


@pytest.mark.parametrize(
    ("name", "emulator_expiry_s", "adapter_expiry_s"),
    [
        ("phoenix_charx", 0.6, None),  # set-point rewrite; expiry set on the emulator side
        # Whole-second registers: the adapter writes 2002 = 1 s / WSetRvrtTms = 1 s.
        ("vestel_evc04", None, 1.0),  # alive register
        ("sunspec_der", None, 1.0),  # WSet rewrite
    ],
)
def test_refresh_task_keeps_setpoint_and_stopping_it_falls_back(
    name, emulator_expiry_s, adapter_expiry_s, run
) -> None:
    async def scenario() -> None:
        emulator = ModbusChargerEmulator(name, expiry_s=emulator_expiry_s)
        await emulator.start()
        adapter = ModbusChargerAdapter(
            "127.0.0.1",
            emulator.port,
            name,
            timeout_s=1.0,
            refresh_s=0.15,
            setpoint_expiry_s=adapter_expiry_s,
        )
        try:
            await adapter.connect()
            expiry_s = emulator_expiry_s or adapter_expiry_s
            assert emulator.expiry_s() == pytest.approx(expiry_s)
            await adapter.set_power(11.0)
            await asyncio.sleep(2.5 * expiry_s)
            alive = emulator.snapshot()
            assert not alive.in_failsafe and alive.failsafe_events == 0
            # 2.5 expiries / 0.15 s refresh period, with slack for a slow loop.
            assert adapter.refreshes_sent >= int(2.5 * expiry_s / 0.15) - 3
            # Stop refreshing (as if the EMS process hung): the charger falls back.
            assert adapter._supervisor is not None
            adapter._supervisor.cancel()
            await asyncio.sleep(expiry_s + 0.4)
            stale = emulator.snapshot()
            assert stale.in_failsafe and stale.failsafe_events == 1
        finally:
            await adapter.close()
            await emulator.stop()

    run(scenario())
