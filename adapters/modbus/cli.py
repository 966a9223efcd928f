"""`twin emulate modbus`: serve a vendor register map as an emulated charger on Modbus TCP.

The lead mounts it with `register_cli(emulate_app)`; the command runs until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import typer

from adapters.modbus.register_map import RegisterMapError, available_map_names, load_register_map
from twin.cli.options import fail

if TYPE_CHECKING:
    from adapters.testing.modbus.emulator import EmulatorSnapshot


def _status_line(map_name: str, snap: EmulatorSnapshot) -> str:
    failsafe = " FAILSAFE" if snap.in_failsafe else ""
    return (
        f"[{map_name}] state {snap.iec61851_state} power {snap.power_kw:7.2f} kW "
        f"(target {snap.target_kw:6.2f}) energy {snap.energy_import_kwh:8.3f} kWh "
        f"soc {snap.soc:5.1%} requests {snap.requests}{failsafe}"
    )


def register_cli(emulate_app: typer.Typer) -> None:
    """Add the `modbus` command to the `twin emulate` Typer group."""

    @emulate_app.command("modbus")
    def emulate_modbus(
        map_name: str = typer.Option(
            ...,
            "--map",
            help=f"Register map name or YAML path ({', '.join(available_map_names())}).",
        ),
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(5020, help="Modbus TCP port."),
        expiry_s: float | None = typer.Option(
            None, "--expiry-s", help="Override the map's set-point expiry, s."
        ),
        soc: float = typer.Option(0.5, min=0.0, max=1.0, help="Initial EV state of charge 0..1."),
        battery_kwh: float = typer.Option(60.0, min=1.0, help="EV battery capacity, kWh."),
        status_interval_s: float = typer.Option(5.0, min=0.1, help="Status line period, s."),
    ) -> None:
        """Emulate a Modbus TCP charger (EV physics, set-point expiry, failsafe) until Ctrl-C."""
        from adapters.testing.modbus.emulator import (
            run_modbus_emulator,  # test double: only when run
        )

        try:
            regmap = load_register_map(map_name)
        except RegisterMapError as exc:
            fail([f"error: {exc}"])
        typer.echo(
            f"emulating {regmap.vendor} {regmap.product} (unit {regmap.unit_id}) on "
            f"{host}:{port}; set-point expiry {expiry_s or regmap.setpoint.expiry_s:g} s"
        )
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(
                    run_modbus_emulator(
                        regmap,
                        host=host,
                        port=port,
                        expiry_s=expiry_s,
                        soc=soc,
                        battery_kwh=battery_kwh,
                        status_interval_s=status_interval_s,
                        on_status=lambda snap: typer.echo(_status_line(regmap.name, snap)),
                    )
                )
        except OSError as exc:
            fail([f"error: cannot listen on {host}:{port}: {exc.strerror or exc}"], code=1)
