"""`twin fleet-size SWEEP_DIR`: how many registered EVs firmly offer a power, from a seed sweep.

Reads `sweep_kpis.parquet` of a `twin sweep SCENARIO --seeds K` folder: each completed seed gives
one sample of the power the study's fleet delivered (a KPI in kW, by default the under-frequency
response held from 10 s to 5 min 10 s after the event, `ufr_firm_kw`) and its registered EVs
(`ufr_registered_evs`). The fleet size comes from twin.metrics.fleet_sizing (normal approximation
and block bootstrap)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twin.cli.options import fail

SWEEP_TABLE = "sweep_kpis.parquet"


def fleet_size(
    sweep_dir: Annotated[Path, typer.Argument(help="A `twin sweep ... --seeds K` folder.")],
    target_mw: Annotated[
        list[float] | None,
        typer.Option("--target-mw", help="Power to offer, MW (repeat for several).", min=0.0),
    ] = None,
    confidence: Annotated[
        float, typer.Option(help="Share of occasions the offer is met.", min=0.51, max=0.999)
    ] = 0.9,
    kpi: Annotated[str, typer.Option(help="The KPI (kW) each seed delivered.")] = "ufr_firm_kw",
    evs_kpi: Annotated[
        str, typer.Option(help="The KPI with each seed's registered EVs.")
    ] = "ufr_registered_evs",
    plugged_kpi: Annotated[
        str, typer.Option(help="The KPI with each seed's plugged EVs (shown only).")
    ] = "ufr_plugged_evs",
) -> None:
    """Registered EVs needed to offer a power with a confidence, from a sweep over seeds."""
    import numpy as np
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from twin.metrics.errors import MetricInputError
    from twin.metrics.fleet_sizing import fleet_size_for_firm_power

    path = sweep_dir / SWEEP_TABLE
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        fail([f"{path}: cannot read the sweep's KPI table ({err}); run `twin sweep` first"])
    missing = [c for c in (kpi, evs_kpi, "status") if c not in table.columns]
    if missing:
        fail([f"{path}: no column {', '.join(missing)} (is it a sweep of a frequency study?)"])
    # A column of the wrong kind (text, a KPI that is not a number) is a clear error too.
    table[kpi] = pd.to_numeric(table[kpi], errors="coerce")
    table[evs_kpi] = pd.to_numeric(table[evs_kpi], errors="coerce")
    done = table[
        (table["status"] == "completed")
        & np.isfinite(table[kpi])
        & np.isfinite(table[evs_kpi])
        & (table[evs_kpi] >= 1)
    ]
    if len(done) < 2:
        fail(
            [
                f"{path}: {len(done)} completed seed(s) with a number in {kpi} and {evs_kpi}; "
                "need at least 2 (--seeds)"
            ]
        )
    evs = done[evs_kpi].astype(int).unique()
    if evs.size != 1:
        fail([f"{path}: the seeds differ in fleet size ({sorted(evs)}); sweep seeds only"])
    samples = done[kpi].to_numpy(dtype=float)
    n = int(evs[0])
    plugged = (
        done[plugged_kpi].to_numpy(dtype=float)
        if plugged_kpi in done.columns
        else np.full(1, np.nan)
    )
    console = Console()
    summary = Table(title=f"{kpi} over {len(done)} seeds of {n} registered EVs")
    for name in ("", "mean", "std", "min", "P10", "max"):
        summary.add_column(name, justify="right")

    def row(label: str, values: np.ndarray) -> None:
        summary.add_row(
            label,
            *(
                f"{v:.4g}"
                for v in (
                    values.mean(),
                    values.std(ddof=1) if values.size > 1 else float("nan"),
                    values.min(),
                    np.quantile(values, 0.1),
                    values.max(),
                )
            ),
        )

    row("fleet, kW", samples)
    row("per registered EV, kW", samples / n)
    if np.isfinite(plugged).all() and (plugged > 0).all():
        row("EVs plugged", plugged)
        row("per plugged EV, kW", samples / plugged)
    console.print(summary)
    sizes = Table(title=f"registered EVs to offer a power with {confidence:.0%} confidence")
    for name in ("target (MW)", "normal approx.", "block bootstrap", "per-EV mean (kW)"):
        sizes.add_column(name, justify="right")
    for mw in target_mw or [1.0]:
        try:
            size = fleet_size_for_firm_power(samples, n, mw * 1000.0, confidence)
        except MetricInputError as err:
            fail([f"{path}: {err}"])
        sizes.add_row(
            f"{mw:g}",
            f"{size.evs_normal:,}",
            "-" if size.evs_bootstrap is None else f"{size.evs_bootstrap:,}",
            f"{size.per_ev_mean_kw:.4g}",
        )
    console.print(sizes)


def register_cli(app: typer.Typer) -> None:
    app.command("fleet-size")(fleet_size)
