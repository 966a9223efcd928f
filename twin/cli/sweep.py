"""`twin sweep`: run a grid of scenario variants on Dask (mounted by twin.cli.main via register_cli)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from twin.cli.options import (
    CaseOpt,
    OptionError,
    ProgressOpt,
    SeedOpt,
    SweepSetOpt,
    fail,
    parse_set_values,
)
from twin.config import ScenarioError

_SHOWN = (
    "variant",
    "status",
    "wall_s",
    "push_up_mw_mean",
    "push_up_mw_firm90",
    "push_down_mw_mean",
    "push_down_mw_firm90",
    "min_bus_voltage_pu",
    "max_line_loading_pct",
    "max_trafo_loading_pct",
    "effective_droop_percent",
    "ufr_window_time_to_90_s",
    "ufr_window_held_s",
    "ufr_firm_kw",
    "ufr_plugged_evs",
    "pjm_score",
    "kwh_accuracy_percent",
    "error",
)
"""Columns the sweep's table shows, those the study has (a frequency sweep has no push-up)."""


def sweep(
    scenario: Annotated[Path, typer.Argument(help="Base scenario YAML file.")],
    set_: SweepSetOpt = None,
    seeds: Annotated[
        int,
        typer.Option(
            help="Seeds per combination: the scenario's seed, seed+1, ... (Monte Carlo).", min=1
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address, e.g. tcp://host:8786 (default: a local cluster on 127.0.0.1)."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Local cluster worker processes.", min=1)] = 2,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Sweep folder (default results/sweep-<scenario name>)."),
    ] = None,
    progress: ProgressOpt = True,
    seed: SeedOpt = None,
    case: CaseOpt = None,
) -> None:
    """Run every combination of --set alternatives x seeds; one KPI row per variant.

    --seed replaces the scenario's seed as the first of the --seeds; --case applies one of the
    file's named cases to every variant (the --set alternatives still win over it).
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Table

    from twin.catalog import load_scenario
    from twin.run.sweep import SweepError, expand_variants, load_scenario_data, run_sweep

    try:
        sets = dict(parse_set_values(item) for item in set_ or [])
        data = load_scenario_data(scenario)
        # The case's own seed (if it sets one) is the base seed, as in `twin run --case`.
        base_seed = load_scenario(scenario, {"case": case}).seed if case is not None else None
    except OptionError as e:
        fail([str(e)])
    except ScenarioError as e:
        fail(e.lines())
    if seed is not None and "seed" in sets:
        fail(["--seed and --set seed=...: give the seeds one way"])
    if seed is not None:
        base_seed = seed
    elif base_seed is None:
        base_seed = int(data.get("seed", 0) or 0)
    if "seed" in sets:
        seed_list = [int(s) for s in sets.pop("seed")]
    else:
        seed_list = [base_seed + i for i in range(seeds)]
    variants = expand_variants(sets, seed_list)
    if case is not None:
        # First in each variant's overrides: the case is applied before the --set values anyway.
        variants = [type(v)(name=v.name, overrides={"case": case, **v.overrides}) for v in variants]
    target = (
        out_dir
        or Path(str((data.get("outputs") or {}).get("dir", "results")))
        / f"sweep-{data.get('name', 'scenario')}"
    )
    console = Console(stderr=True)
    console.print(
        f"{len(variants)} variants -> {target} "
        f"({'scheduler ' + scheduler if scheduler else f'local cluster, {workers} workers'})"
    )
    columns = (
        TextColumn("[bold]sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
    )
    with Progress(*columns, console=console, disable=not progress) as bar:
        task = bar.add_task("sweep", total=len(variants), last="")

        def done(row: dict) -> None:
            bar.update(task, advance=1, last=f"{row.get('variant')}: {row.get('status')}")

        try:
            table = run_sweep(
                scenario, variants, target, scheduler=scheduler, workers=workers, on_done=done
            )
        except SweepError as e:
            fail([str(e)])
    view = Table(title=f"sweep of {scenario.name}: {len(table)} variants")
    shown = [
        c
        for c in _SHOWN
        if c in table.columns and (c in ("variant", "status") or table[c].notna().any())
    ]
    shown = [c for c in shown if c != "error" or (table[c].fillna("") != "").any()]
    for col in shown:
        # Variant names are the sweep's point: folded onto more lines, never cut to "fleets.h…".
        view.add_column(col, overflow="fold" if col in ("variant", "error") else "ellipsis")
    for _, row in table.iterrows():
        view.add_row(
            *(
                ""
                if row[c] is None or row[c] != row[c]
                else (f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c])[:80])
                for c in shown
            )
        )
    # Wide enough for the KPI columns even when piped to a log (rich falls back to 80 there).
    Console(soft_wrap=True, width=max(shutil.get_terminal_size((200, 24)).columns, 200)).print(view)
    failed = int((table["status"] != "completed").sum())
    print(
        f"KPIs: {target / 'sweep_kpis.parquet'} (+ .csv); runs in {target}/<variant>/"
        + (f"; {failed} variant(s) failed (see the error column)" if failed else "")
    )
    print(f"side by side with units and figures: twin compare {target}")


def register_cli(app: typer.Typer) -> None:
    """Mount `twin sweep` on the main command."""
    app.command("sweep")(sweep)
