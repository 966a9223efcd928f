"""`twin emulate modbus` wiring and the run_modbus_emulator entry point."""

from __future__ import annotations

import asyncio
import time

import pytest
import typer
from typer.testing import CliRunner

from adapters.modbus.cli import register_cli
from adapters.modbus.client_adapter import ModbusChargerAdapter
from adapters.testing.modbus.emulator import run_modbus_emulator


def _app() -> typer.Typer:
    app = typer.Typer()
    emulate = typer.Typer()
    app.add_typer(emulate, name="emulate")
    register_cli(emulate)
    return app


def test_cli_registers_modbus_command_and_rejects_unknown_map() -> None:
    runner = CliRunner()
    help_result = runner.invoke(_app(), ["emulate", "modbus", "--help"])
    assert help_result.exit_code == 0
    assert "--map" in help_result.output and "--port" in help_result.output
    bad = runner.invoke(_app(), ["emulate", "modbus", "--map", "no_such_charger"])
    assert bad.exit_code == 2
    assert "no such map" in bad.output and "Traceback" not in bad.output


def test_run_modbus_emulator_serves_until_stopped(run) -> None:
    async def scenario() -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        stop = asyncio.Event()
        lines = []
        task = asyncio.create_task(
            run_modbus_emulator(
                "alfen_eve",
                port=port,
                status_interval_s=0.1,
                on_status=lines.append,
                stop_event=stop,
            )
        )
        adapter = ModbusChargerAdapter("127.0.0.1", port, "alfen_eve", timeout_s=1.0)
        for _ in range(50):
            try:
                await adapter.connect()
                break
            except Exception:
                await asyncio.sleep(0.05)
        await adapter.set_power(7.0)
        # Real time: 7 kW -> 10.1 A, the ramp (4 kW/s) ends in < 2 s unloaded; wait for it
        # (generous deadline on a busy machine) instead of a fixed 3 s.
        expected = 10.1 * 0.690
        deadline = time.monotonic() + 60.0
        reading = await adapter.read()
        while reading.power_kw != pytest.approx(expected, abs=0.01):
            assert time.monotonic() < deadline, f"power {reading.power_kw} kW after 60 s"
            await asyncio.sleep(0.05)
            reading = await adapter.read()
        assert reading.power_kw == pytest.approx(expected, abs=0.01)
        await adapter.close()
        stop.set()
        await asyncio.wait_for(task, 2.0)
        assert lines and lines[-1].requests > 0

    run(scenario())
