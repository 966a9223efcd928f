"""`twin report DIR`: the run's KPIs with units on the terminal, and report.html + PNG figures
built from the results folder alone; `print_kpis` is shared with `twin run`.

pandas, pyarrow and matplotlib load only inside the command (`twin --help` stays light).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from twin.cli.options import fail

if TYPE_CHECKING:
    from rich.console import Console

FLEXIBILITY_SERVICE = "flexibility_windows"
PIPED_WIDTH = 132


@cache
def console(stderr: bool = False) -> Console:
    """The rich console for tables and notes (created on first use: rich is not light)."""
    import sys

    from rich.console import Console

    # Piped or redirected (CI logs, `| less`): rich would assume 80 columns and wrap every row.
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else PIPED_WIDTH
    return Console(stderr=stderr, soft_wrap=True, width=width)


def _status_line(run_dir: Path, summary: dict[str, Any]) -> None:
    from twin.results.readers import ResultsError, read_table

    status = summary.get("status")
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
    console(stderr=True).print(
        f"{run_dir}: run {status} ({why}); {rows} of "
        f"{summary.get('steps_planned', '?')} steps recorded and readable"
    )


def report(
    run_dir: Annotated[Path, typer.Argument(help="A results/<run> folder.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where report.html and figures/ go (default: the run folder)."),
    ] = None,
    figures: Annotated[
        bool,
        typer.Option("--figures/--no-figures", help="Build report.html and the PNG figures."),
    ] = True,
) -> None:
    """Print the run's KPIs (with units, only those that apply) and write report.html with PNG
    figures (fleet power vs baseline, SOC, EMS, grid, the study's own panels, long-run views)."""
    from twin.results.readers import ResultsError, read_summary

    try:
        summary = read_summary(run_dir)
    except ResultsError as e:
        fail([str(e)])
    if summary.get("status") != "completed":
        _status_line(run_dir, summary)
    print_kpis(summary, run_dir)
    if not figures:
        return
    from twin.report.build import build_report

    try:
        built = build_report(run_dir, out)
    except ResultsError as e:
        fail([str(e)])
    for line in built.skipped:
        console(stderr=True).print(f"figure {line}")
    console().print(
        f"report: {built.html_path} ({len(built.figures)} figures as PNG in "
        f"{built.html_path.parent / 'figures'}, {built.seconds['total']:.1f} s)"
    )


def has_windows(summary: dict[str, Any], run_dir: Path | None = None) -> bool:
    """Whether the study shifts demand in push windows (only then do push-up KPIs apply)."""
    services = summary.get("services")
    if isinstance(services, list):
        return FLEXIBILITY_SERVICE in services
    if run_dir is not None:  # a run from before summary.json listed its services
        import yaml

        from twin.report.data import service_types
        from twin.results import columns as col

        path = run_dir / col.SCENARIO_FILE
        if path.exists():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                return True
            return isinstance(data, dict) and FLEXIBILITY_SERVICE in service_types(data)
    return True


def print_kpis(summary: dict[str, Any], run_dir: Path | None = None) -> None:
    """The KPIs that apply to the study, grouped, with units; then the per-fleet breakdown and
    the hardware of a HIL run (per-slot series and nested blocks stay in summary.json)."""
    from rich.table import Table

    from twin.report.kpi_rows import (
        format_value,
        kpi_errors,
        kpi_rows,
        per_fleet_columns,
        per_fleet_value,
        violation_rows,
    )

    kpis = summary.get("kpis") or {}
    windows = has_windows(summary, run_dir)
    table = Table(
        title=f"{summary.get('scenario', '?')}  ({summary.get('status', '?')}, "
        f"{summary.get('steps', 0)} steps of {summary.get('step_s', '?')} s, "
        f"{summary.get('ev_count', '?')} EVs, seed {summary.get('seed', '?')}, "
        f"{summary.get('wall_time_s', '?')} s wall)"
    )
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("key (summary.json)", style="dim")
    last = None
    for row in kpi_rows(kpis, windows):
        if row.group != last:
            table.add_row(f"[bold]{row.group}[/bold]", "", "", "")
            last = row.group
        table.add_row(f"  {row.label}", format_value(row.value), row.unit, row.key)
    console().print(table)
    per_fleet = kpis.get("per_fleet")
    if isinstance(per_fleet, dict) and len(per_fleet) > 0:
        columns = per_fleet_columns(per_fleet, windows)
        fleets = Table(title="per fleet")
        fleets.add_column("fleet")
        for _, header, unit in columns:
            fleets.add_column(f"{header} ({unit})" if unit else header, justify="right")
        for name, values in per_fleet.items():
            fleets.add_row(
                name, *(format_value(per_fleet_value(k, values.get(k))) for k, _, _ in columns)
            )
        console().print(fleets)
    violations = summary.get("violations")
    if isinstance(violations, dict) and violations:
        v = Table(title="grid violations")
        for header in ("", "unit", "controlled", "baseline"):
            v.add_column(
                header, justify="right" if header in ("controlled", "baseline") else "left"
            )
        for label, unit, ctrl, base in violation_rows(violations):
            v.add_row(label, unit, format_value(ctrl), format_value(base))
        console().print(v)
    hil = summary.get("hil")
    if isinstance(hil, dict):
        chargers = ", ".join(map(str, hil.get("chargers", []))) or "none"
        console().print(f"hardware: {chargers}; {hil.get('events', 0)} link events")
        print_hardware(hil.get("per_charger"))
    realtime = summary.get("realtime")
    if isinstance(realtime, dict):
        console().print(
            "real time: " + ", ".join(f"{k} {format_value(val)}" for k, val in realtime.items())
        )
    for line in kpi_errors(kpis):
        console(stderr=True).print(line)
    if "kpis_error" in summary:
        console(stderr=True).print(f"KPIs could not be computed: {summary['kpis_error']}")


HARDWARE_COLUMNS = (
    ("online_share", "online", "share"),
    ("sent", "set-points sent", ""),
    ("accepted", "accepted", ""),
    ("refused", "refused", ""),
    ("withheld", "discharge withheld", ""),
    ("rejected_readings", "readings rejected", ""),
    ("energy_measured_kwh", "energy measured", "kWh"),
    ("energy_modelled_kwh", "energy modelled", "kWh"),
    ("meter_advance_kwh", "meter advance", "kWh"),
)
"""summary.json `hil.per_charger` fields as `twin report` shows them (key, header, unit)."""


def print_hardware(per_charger: Any) -> None:
    """The hardware section of a HIL run: per charger its online share, set-points sent /
    accepted / refused, and energy measured against modelled (nothing if the run has none)."""
    if not isinstance(per_charger, dict) or not per_charger:
        return
    from rich.table import Table

    from twin.report.kpi_rows import format_value

    table = Table(title="hardware (per physical charger)")
    table.add_column("charger")
    for _, header, unit in HARDWARE_COLUMNS:
        table.add_column(f"{header} ({unit})" if unit else header, justify="right")
    for charger_id, values in per_charger.items():
        if not isinstance(values, dict):
            continue
        table.add_row(
            str(charger_id), *(format_value(values.get(key)) for key, _, _ in HARDWARE_COLUMNS)
        )
    console().print(table)


def register_cli(app: typer.Typer) -> None:
    """Add `twin report`."""
    app.command("report")(report)
