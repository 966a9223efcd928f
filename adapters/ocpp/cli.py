"""`twin csms` and `twin emulate ocpp` commands (mounted by twin/cli/main.py via `register_cli`)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path
from typing import Annotated

import typer

from adapters.base import AdapterError
from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError
from twin.cli.options import fail


def parse_charger_option(value: str) -> tuple[str, ChargerAuth]:
    """`ID` or `ID:PASSWORD` -> (identity, ChargerAuth).

    Raises:
        OcppConfigError: empty identity.
    """
    identity, sep, password = value.partition(":")
    if not identity:
        raise OcppConfigError(f"--charger {value!r}: expected ID or ID:PASSWORD")
    return identity, ChargerAuth(password=password if sep else None)


def _run(coro) -> None:
    """Run until Ctrl-C; typed errors become one line and exit code 2."""
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(coro)
    except AdapterError as exc:
        fail([f"error: {exc}"])


def register_cli(app: typer.Typer, emulate_app: typer.Typer) -> None:
    """Add `csms` to `app` and `ocpp` to `emulate_app`."""

    @app.command("csms")
    def csms(
        charger: Annotated[
            list[str],
            typer.Option("--charger", "-c", help="Allowed charger: ID or ID:PASSWORD (repeat)."),
        ],
        host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 for a lab LAN).")] = (
            "127.0.0.1"
        ),
        port: Annotated[int, typer.Option(help="TCP port.")] = 9000,
        tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate for wss://.")] = None,
        tls_key: Annotated[Path | None, typer.Option(help="PEM private key for wss://.")] = None,
        meter_interval_s: Annotated[int, typer.Option(help="Meter sampling interval, s.")] = 10,
    ) -> None:
        """Run the OCPP central system (1.6J, 2.0.1, 2.1) and print chargers as they come."""
        try:
            chargers = dict(parse_charger_option(value) for value in charger)
            config = CsmsConfig(
                host=host,
                port=port,
                chargers=chargers,
                tls_cert=tls_cert,
                tls_key=tls_key,
                meter_interval_s=meter_interval_s,
            )
        except AdapterError as exc:
            fail([f"error: {exc}"])
        from adapters.ocpp.central_system import serve_forever  # ocpp + websockets: only when run

        _run(serve_forever(config))

    @emulate_app.command("ocpp")
    def emulate_ocpp(
        url: Annotated[str, typer.Option(help="CSMS base URL, e.g. ws://127.0.0.1:9000/ocpp")],
        charger_id: Annotated[str, typer.Option("--id", help="Charge point identity.")],
        version: Annotated[str, typer.Option(help="OCPP version: 1.6, 2.0.1 or 2.1.")] = "1.6",
        password: Annotated[str | None, typer.Option(help="HTTP Basic password.")] = None,
        ca_file: Annotated[Path | None, typer.Option(help="CA certificate for wss://.")] = None,
        max_power_kw: Annotated[float, typer.Option(help="EV maximum power, kW.")] = 11.0,
        battery_kwh: Annotated[float, typer.Option(help="EV battery, kWh.")] = 60.0,
        soc: Annotated[float, typer.Option(help="EV state of charge at plug-in, 0..1.")] = 0.5,
        discharge: Annotated[bool, typer.Option(help="EV can discharge (OCPP 2.1).")] = False,
    ) -> None:
        """Emulate one OCPP charge point with an EV plugged in."""
        from adapters.testing.ocpp.emulator import run_emulator  # test double: only when run

        context = None
        if ca_file is not None:
            try:
                context = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                fail([f"error: cannot load CA file {ca_file}: {exc}"])
        _run(
            run_emulator(
                url,
                charger_id,
                version,
                password,
                ssl_context=context,
                max_power_kw=max_power_kw,
                battery_kwh=battery_kwh,
                soc_initial=soc,
                can_discharge=discharge,
            )
        )
