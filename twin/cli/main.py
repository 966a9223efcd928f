"""The `twin` command: the typer app, one module per command group mounted on it.

    run.py        twin run              (and the run-starting functions dashboard shares)
    validate.py   twin validate
    report.py     twin report
    compare.py    twin compare
    dashboard.py  twin dashboard
    sweep.py      twin sweep
    verify.py     twin verify
    fleet_size.py twin fleet-size
    options.py    fail(), the --set parser, shared option definitions

plus the hardware commands that live with their adapters (`twin csms`, `twin emulate ...`).
Every command imports what it needs inside its body, so `twin validate` or `twin --help` never
loads the world (mosaik, pandapower, numba, pandas, zmq, Dask, streamlit).
"""

from __future__ import annotations

import importlib
import sys

import typer

from twin.cli import compare, dashboard, fleet_size, report, run, sweep, validate, verify
from twin.config import ScenarioError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Digital twin for EV-fleet flexibility (mosaik + pandapower + EMS).",
)
emulate_app = typer.Typer(no_args_is_help=True, help="Emulated chargers for labs and tests.")
app.add_typer(emulate_app, name="emulate")

_OWN = (run, validate, report, compare, dashboard, sweep, verify, fleet_size)
for _commands in _OWN:
    _commands.register_cli(app)
OWN_COMMANDS = frozenset(c.name for c in app.registered_commands)

# Hardware commands live with their adapters (`twin csms`, `twin emulate ocpp|modbus`); their
# modules load asyncio servers, ocpp and pymodbus, so they are mounted only when the command line
# is not one of the commands above (a hardware command, `--help`, or a typo that needs the full
# list). A missing adapter package drops its commands; it never takes `twin run` down with it.
_ADAPTERS = (
    ("adapters.ocpp.cli", (app, emulate_app)),
    ("adapters.modbus.cli", (emulate_app,)),
)


def mount_adapter_commands() -> None:
    """Add the adapters' `register_cli` commands to the app (each adapter at most once)."""
    for module, args in _ADAPTERS:
        if module in _mounted:
            continue
        _mounted.add(module)
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:
                continue  # that command set is not installed in this checkout
            raise
        mod.register_cli(*args)


_mounted: set[str] = set()


def _needs_adapters(argv: list[str]) -> bool:
    words = [a for a in argv if not a.startswith("-")]
    return not words or words[0] not in OWN_COMMANDS


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if _needs_adapters(args):
        mount_adapter_commands()
    try:
        app(args=args)
    except ScenarioError as e:  # pragma: no cover - commands catch it; belt and braces
        for line in e.lines():
            print(line, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
