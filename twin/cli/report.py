"""`twin report`: the KPI table of a finished (or interrupted) run; `print_kpis` is shared with run.

pandas / pyarrow load only when a run's status makes the table's row count worth reading.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from twin.cli.options import fail

if TYPE_CHECKING:
    from rich.console import Console


@cache
def console(stderr: bool = False) -> Console:
    """The rich console for tables and notes (created on first use: rich is not light)."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


def report(run_dir: Annotated[Path, typer.Argument(help="A results/<run> folder.")]) -> None:
    """Print the KPI table of a finished (or interrupted) run."""
    from twin.results.readers import ResultsError, read_summary

    try:
        summary = read_summary(run_dir)
    except ResultsError as e:
        fail([str(e)])
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
        console(stderr=True).print(
            f"{run_dir}: run {status} ({why}); {rows} of "
            f"{summary.get('steps_planned', '?')} steps recorded and readable"
        )
    print_kpis(summary)


def fmt(value: Any) -> str:
    """A KPI value for the table: 4 significant digits, lists as their length and span."""
    if isinstance(value, float):
        value = value + 0.0  # -0.0 prints as 0
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, list):
        # Per-hour / per-slot series stay in summary.json; the table gives their span.
        numbers = [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers and len(numbers) == len(value):
            return f"{len(value)} values, {fmt(float(min(numbers)))} .. {fmt(float(max(numbers)))}"
        return f"{len(value)} entries (summary.json)"
    return str(value)


def print_kpis(summary: dict[str, Any]) -> None:
    """The summary's KPIs as a table on stdout (nested KPI groups stay in summary.json)."""
    from rich.table import Table

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
        table.add_row(key, fmt(value))
    console().print(table)
    if "kpis_error" in summary:
        console(stderr=True).print(f"KPIs could not be computed: {summary['kpis_error']}")


def register_cli(app: typer.Typer) -> None:
    """Add `twin report`."""
    app.command("report")(report)
