"""The `twin` command: run, validate, report (and the hardware commands mounted from adapters)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from twin.catalog import load_scenario
from twin.config import DEFAULT_SCENARIO, ScenarioError
from twin.results.readers import ResultsError, read_summary

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Digital twin for EV-fleet flexibility (mosaik + pandapower + EMS).",
)
emulate_app = typer.Typer(no_args_is_help=True, help="Emulated chargers for labs and tests.")
app.add_typer(emulate_app, name="emulate")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

RESULT_FILES = (
    "summary.json",
    "scenario.yaml",
    "error.log",
    "hil_events.json",
    "timeseries.parquet",
    "grid_*.parquet",
    "*.parts",
)


class UserError(Exception):
    """Anything the user must fix; printed as one line, exit code 2."""


def _fail(lines: list[str], code: int = 2) -> None:
    # Plain print: rich would wrap long paths, and these lines are meant for grep and CI logs.
    for line in lines:
        print(line, file=sys.stderr)
    raise typer.Exit(code)


def _clear_previous(run_dir: Path) -> None:
    # Only files a run writes are removed, so --out pointing at a busy folder loses nothing else.
    for pattern in RESULT_FILES:
        for path in run_dir.glob(pattern):
            if path.is_dir():
                for child in path.iterdir():
                    child.unlink()
                path.rmdir()
            else:
                path.unlink()


def _raise_keyboard_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")] = DEFAULT_SCENARIO,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Results folder (default results/<name>).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a field, e.g. --set fleets.home.count=1000 --set step=1min."
        ),
    ] = None,
    realtime: Annotated[
        bool,
        typer.Option(
            "--realtime",
            help="Pace the run by the wall clock (HIL); factor from the scenario's hil.rt_factor.",
        ),
    ] = False,
    rt_factor: Annotated[
        float | None,
        typer.Option(
            help="Wall seconds per simulated second (1.0 = real time, 0.001 = 1000x faster)."
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    case: Annotated[
        str | None,
        typer.Option(
            help="Run one of the file's named `cases` (e.g. an adoption case); --set still wins."
        ),
    ] = None,
    live: Annotated[
        str | None,
        typer.Option(
            help="Publish step snapshots for the dashboard on this pyzmq address "
            "(e.g. tcp://127.0.0.1:5556)."
        ),
    ] = None,
) -> None:
    """Run a scenario (default: scenarios/default.yaml) and write results."""
    from twin.run.world import prepare_run

    overrides: dict[str, Any] = {}
    for item in set_ or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            _fail([f"--set {item}: use FIELD.PATH=VALUE, e.g. fleets.home.count=1000"])
        try:
            overrides[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            _fail([f"--set {item}: the value is not valid YAML (quote it, e.g. --set name='a b')"])
    if seed is not None:
        overrides["seed"] = seed
    if case is not None:
        overrides["case"] = case
    try:
        sc = load_scenario(scenario, overrides)
    except ScenarioError as e:
        _fail(e.lines())
    target = out_dir or Path(sc.outputs.dir) / sc.name
    _clear_previous(target) if target.exists() else None
    factor = rt_factor if rt_factor is not None else (sc.hil.rt_factor if realtime else None)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    publisher = None
    try:
        prepared = prepare_run(sc, target, realtime=factor is not None)
        if live:
            from twin.telemetry.publisher import TelemetryPublisher

            publisher = TelemetryPublisher(live, prepared)
            prepared.observers.append(publisher)
        outcome = prepared.run(rt_factor=factor, progress=progress)
    except KeyboardInterrupt:
        _fail(
            [f"interrupted: partial results in {target} (summary.json status 'interrupted')"],
            code=130,
        )
    except ScenarioError as e:  # found while building the run (e.g. a signal file's contents)
        _fail(e.lines())
    except UserError as e:
        _fail([str(e)])
    except Exception as e:  # a bug, not bad input: say where the partial results and details are
        import traceback

        target.mkdir(parents=True, exist_ok=True)
        (target / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
        _fail(
            [
                f"run failed: {type(e).__name__}: {e}",
                f"partial results in {target} (summary.json status 'failed'); traceback in "
                f"{target / 'error.log'}",
            ],
            code=1,
        )
    finally:
        if publisher is not None:
            publisher.close()
    _print_kpis(outcome.summary)
    out.print(f"results: {target}")


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Scenario files.")]) -> None:
    """Check scenario files; exit 0 if all are valid, 2 otherwise (every problem listed)."""
    from twin.run.build import check_grid
    from twin.signals.scenario_signals import check_signals

    problems: list[str] = []
    for path in files:
        try:
            # Signals are built once too: a CSV with gaps or NaN is a scenario problem, found
            # now rather than minutes into a run.
            sc = load_scenario(path)
            check_signals(sc)
            check_grid(sc)
            out.print(f"{path}: ok")
        except ScenarioError as e:
            problems.extend(e.lines())
    if problems:
        _fail(problems)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A results/<run> folder.")]) -> None:
    """Print the KPI table of a finished (or interrupted) run."""
    try:
        summary = read_summary(run_dir)
    except ResultsError as e:
        _fail([str(e)])
    status = summary.get("status")
    if status != "completed":
        from twin.results.readers import read_table

        try:
            rows = len(read_table(run_dir))
        except ResultsError:
            rows = 0
        why = {
            "running": "still running, or killed before it could write its summary",
            "interrupted": "stopped with Ctrl-C",
            "failed": summary.get("error", "failed"),
            "invalid": "; ".join(summary.get("errors", [])),
        }.get(str(status), str(status))
        err.print(
            f"{run_dir}: run {status} ({why}); {rows} of "
            f"{summary.get('steps_planned', '?')} steps recorded and readable"
        )
    _print_kpis(summary)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        value = value + 0.0  # -0.0 prints as 0
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, list):
        # Per-hour / per-slot series stay in summary.json; the table gives their span.
        numbers = [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers and len(numbers) == len(value):
            return (
                f"{len(value)} values, {_fmt(float(min(numbers)))} .. {_fmt(float(max(numbers)))}"
            )
        return f"{len(value)} entries (summary.json)"
    return str(value)


def _print_kpis(summary: dict[str, Any]) -> None:
    table = Table(
        title=f"{summary.get('scenario', '?')}  ({summary.get('status', '?')}, "
        f"{summary.get('steps', 0)} steps, {summary.get('ev_count', '?')} EVs, "
        f"seed {summary.get('seed', '?')}, {summary.get('wall_time_s', '?')} s wall)"
    )
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for key, value in (summary.get("kpis") or {}).items():
        if isinstance(value, dict):
            continue
        table.add_row(key, _fmt(value))
    out.print(table)
    if "kpis_error" in summary:
        err.print(f"KPIs could not be computed: {summary['kpis_error']}")


def _mount_hardware_commands() -> None:
    # Hardware commands live with their adapters; they are optional at import time so a broken
    # lab dependency never takes `twin run` down with it.
    import importlib

    mounts = (
        ("adapters.ocpp.cli", (app, emulate_app)),
        ("adapters.modbus.cli", (emulate_app,)),
        ("twin.cli.dashboard", (app,)),
        ("twin.cli.sweep", (app,)),
    )
    for module, args in mounts:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:
                continue  # that command set is not installed in this checkout
            raise
        mod.register_cli(*args)


def main() -> None:
    _mount_hardware_commands()
    try:
        app()
    except ScenarioError as e:  # pragma: no cover - commands catch it; belt and braces
        for line in e.lines():
            print(line, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
