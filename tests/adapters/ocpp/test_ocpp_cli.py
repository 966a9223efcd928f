"""`twin csms` / `twin emulate ocpp` wiring, and the long-running entry points behind them."""

import asyncio
import socket

import pytest
from ocpp_lab import eventually
from typer.testing import CliRunner

from adapters.ocpp.central_system import CentralSystem, serve_forever
from adapters.ocpp.cli import parse_charger_option
from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError
from adapters.testing.ocpp.emulator import run_emulator


def test_commands_are_registered(cli_app):
    runner = CliRunner()
    assert "--charger" in runner.invoke(cli_app, ["csms", "--help"]).output
    result = runner.invoke(cli_app, ["emulate", "ocpp", "--help"])
    assert result.exit_code == 0
    assert "--version" in result.output and "--id" in result.output


def test_bad_input_is_one_line_and_exit_code_2(cli_app):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["csms", "--charger", "CP1", "--meter-interval-s", "0"])
    assert result.exit_code == 2
    assert "meter_interval_s" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli_app, ["emulate", "ocpp", "--url", "http://x", "--id", "CP1"])
    assert result.exit_code == 2
    assert "ws://" in result.output


def test_charger_option_parsing():
    assert parse_charger_option("CP1") == ("CP1", ChargerAuth(password=None))
    assert parse_charger_option("CP1:s3cr:et") == ("CP1", ChargerAuth(password="s3cr:et"))
    with pytest.raises(OcppConfigError):
        parse_charger_option(":pw")


def free_port() -> int:
    with socket.socket() as probe:  # serve_forever binds by number, so find a free one
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_forever_and_run_emulator_report_chargers():
    lines: list[str] = []

    async def scenario() -> None:
        stop_csms, stop_emulator = asyncio.Event(), asyncio.Event()
        port = free_port()
        config = CsmsConfig(
            port=port, chargers={"CP7": ChargerAuth()}, meter_interval_s=1, allow_no_password=True
        )
        csms = asyncio.ensure_future(serve_forever(config, lines.append, stop_csms))
        await eventually(lambda: any("listening" in line for line in lines))
        emulator = asyncio.ensure_future(
            run_emulator(
                f"ws://127.0.0.1:{port}/ocpp",
                "CP7",
                "2.0.1",
                print_line=lines.append,
                stop=stop_emulator,
            )
        )
        await eventually(lambda: any(line.startswith("CP7: connected") for line in lines))
        await eventually(lambda: any(line.startswith("CP7: transaction_started") for line in lines))
        # One line per event names the charger, its protocol, address and boot details.
        await eventually(lambda: any(line.startswith("CP7: boot ") for line in lines))
        assert any(line.startswith("CP7: connect OCPP 2.0.1 from 127.0.0.1:") for line in lines)
        assert not any(line.startswith("connected chargers") for line in lines)  # no O(N) lists
        stop_emulator.set()
        await asyncio.wait_for(emulator, 5.0)
        await eventually(lambda: any(line.startswith("CP7: disconnect") for line in lines))
        stop_csms.set()
        await asyncio.wait_for(csms, 5.0)

    asyncio.run(asyncio.wait_for(scenario(), 20.0))
    assert "CP7: stopped" in lines
    # At the end, a compact status line instead of a listing.
    assert lines[-1].startswith("status: 0 of 1 chargers connected")
    assert any(line.startswith("CP7: connect OCPP 2.0.1") for line in lines)


def test_run_emulator_reconnects_after_a_csms_restart():
    lines: list[str] = []

    async def scenario() -> None:
        port = free_port()
        config = CsmsConfig(
            port=port, chargers={"CP8": ChargerAuth()}, meter_interval_s=1, allow_no_password=True
        )
        first = CentralSystem(config)
        await first.start()
        stop = asyncio.Event()
        emulator = asyncio.ensure_future(
            run_emulator(
                f"ws://127.0.0.1:{port}/ocpp",
                "CP8",
                "1.6",
                print_line=lines.append,
                stop=stop,
                retry_delay_s=0.1,
            )
        )
        second = CentralSystem(config)
        try:
            await eventually(lambda: any(line.startswith("CP8: connected") for line in lines))
            await first.stop()
            await eventually(lambda: "CP8: connection lost; reconnecting" in lines)
            await second.start()
            adapter = second.adapter("CP8", connect_timeout_s=5.0)
            await adapter.connect()  # came back by itself
            # The new CSMS adopts the running transaction from the next MeterValues ...
            await eventually(lambda: second.session("CP8").transaction_id is not None)
            await adapter.set_power(2.0)  # ... and accepts set-points again
            assert "transaction_started" in [e["kind"] for e in second.events()]
        finally:
            stop.set()
            await asyncio.wait_for(emulator, 5.0)
            await second.stop()

    asyncio.run(asyncio.wait_for(scenario(), 20.0))
    assert sum(line.startswith("CP8: connected") for line in lines) == 2
