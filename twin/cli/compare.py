"""`twin compare DIR DIR...` (or a sweep folder): the KPI table of several runs side by side with
units and each run's difference to the first, and compare.html with overlay figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twin.cli.options import fail


def compare(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Run folders, or a sweep folder (its runs are compared)."),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where compare.html and figures/ go (default: compare/ beside the first run, "
            "or inside the sweep folder).",
        ),
    ] = None,
    figures: Annotated[
        bool,
        typer.Option("--figures/--no-figures", help="Write compare.html and its PNG figures."),
    ] = True,
) -> None:
    """Compare runs: KPIs side by side with units and differences, overlay figures."""
    from rich.table import Table

    from twin.cli.report import console
    from twin.report.compare import build_comparison, delta_text, load_comparison
    from twin.report.kpi_rows import format_value
    from twin.results.readers import ResultsError

    try:
        cmp = build_comparison(run_dirs, out) if figures else load_comparison(run_dirs)
    except ResultsError as e:
        fail([str(e)])
    runs = Table(title=f"{len(cmp.runs)} runs")
    for header in ("#", "run", "scenario", "status", "steps"):
        runs.add_column(header, overflow="fold")
    for k, (label, r) in enumerate(zip(cmp.labels, cmp.runs, strict=True)):
        runs.add_row(
            str(k + 1),
            label,
            r.name,
            str(r.summary.get("status")),
            str(r.summary.get("steps", len(r.table))),
        )
    console().print(runs)
    table = Table(title="KPIs side by side (differences: run - run 1)")
    table.add_column("KPI", overflow="fold")
    table.add_column("unit")
    for k in range(len(cmp.runs)):
        table.add_column(str(k + 1), justify="right")
    for k in range(1, len(cmp.runs)):
        table.add_column(f"{k + 1} - 1", justify="right", style="dim")
    last = None
    for row in cmp.rows:
        if row.group != last:
            table.add_row(f"[bold]{row.group}[/bold]", *([""] * (2 * len(cmp.runs))))
            last = row.group
        table.add_row(
            f"  {row.label}",
            row.unit,
            *(format_value(v) for v in row.values),
            *(delta_text(row, i) for i in range(1, len(row.values))),
        )
    console().print(table)
    if cmp.html_path is not None:
        console().print(f"comparison: {cmp.html_path} ({len(cmp.figures or [])} figures as PNG)")


def register_cli(app: typer.Typer) -> None:
    """Add `twin compare`."""
    app.command("compare")(compare)
