"""Parameter sweeps and Monte Carlo on Dask distributed: a grid of scenario variants, one run each.

A variant = the scenario + dotted-path overrides (as `twin run --set`) + a seed. Every variant runs
in its own Dask task (a LocalCluster on 127.0.0.1 by default, or any scheduler address) and writes
its usual results folder; the sweep collects one row of KPIs per variant into
`<out>/sweep_kpis.parquet` and `.csv`. A variant that fails (bad override, run error) becomes a row
with `status = "failed"` and its error message; the others go on.

A variant's results depend only on the scenario and its seed, never on where or next to what it
runs: a variant run alone (`run_variant`) writes the same time series as inside a sweep.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from twin.catalog import validate_scenario_data
from twin.config import ScenarioError, apply_overrides, read_scenario_data
from twin.results.run_folder import note_written


class SweepError(Exception):
    """A sweep that cannot start (bad --set syntax, unreachable scheduler); says what to fix."""


@dataclass(frozen=True)
class Variant:
    """One point of the sweep grid.

    Attributes:
        name: folder-safe label, e.g. `fleets.home.count=1000_seed=3`.
        overrides: dotted field path -> value, including `seed`.
    """

    name: str
    overrides: dict[str, Any]


def _label(value: Any) -> str:
    # A bare scalar dumps as "0\n...\n" (YAML's end-of-document marker): keep only the value.
    text = (
        value
        if isinstance(value, str)
        else yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    )
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in str(text))


def expand_variants(sets: Mapping[str, Sequence[Any]], seeds: Sequence[int]) -> list[Variant]:
    """The cartesian product of the `--set` alternatives and the seeds, in a stable order."""
    keys = list(sets)
    variants = []
    for combo in itertools.product(*(sets[k] for k in keys)):
        for seed in seeds:
            overrides = {**dict(zip(keys, combo, strict=True)), "seed": seed}
            name = "_".join(
                [*(f"{k}={_label(v)}" for k, v in zip(keys, combo, strict=True)), f"seed={seed}"]
            )
            variants.append(Variant(name=name, overrides=overrides))
    return variants


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, int | float | str | bool) or value is None:
        out[prefix] = value


def run_variant(
    scenario_data: dict[str, Any], variant: Variant, out_dir: str | Path, source: str = "<scenario>"
) -> dict[str, Any]:
    """Run one variant (on a Dask worker or in this process) and return its KPI row.

    Never raises for a failing variant: the row then has `status = "failed"` and `error`.
    """
    from twin.run.world import run_scenario

    settings = {
        f"set.{k}": v if isinstance(v, int | float | str | bool) else str(v)
        for k, v in variant.overrides.items()
    }
    row: dict[str, Any] = {
        "variant": variant.name,
        **settings,
        "status": "failed",
        "error": "",
        "out_dir": str(out_dir),
    }
    t0 = time.perf_counter()
    try:
        data = copy.deepcopy(scenario_data)
        apply_overrides(data, dict(variant.overrides), source)
        scenario = validate_scenario_data(data, source)
        outcome = run_scenario(scenario, Path(out_dir), progress=False)
        summary = outcome.summary
        row["status"] = summary.get("status", "unknown")
        if "kpis_error" in summary:
            row["error"] = f"KPIs: {summary['kpis_error']}"
        kpis: dict[str, Any] = {}
        _flatten("", summary.get("kpis", {}), kpis)
        # Money and bids sit beside the KPIs in summary.json; a sweep compares them too.
        ledger = summary.get("ledger")
        if isinstance(ledger, dict):
            _flatten("ledger", ledger.get("totals", {}), kpis)
        _flatten("bids", summary.get("bids", {}), kpis)
        row.update(kpis)
        note_written(Path(out_dir), "kpis.csv")  # the run folder's manifest (run_folder.py)
        pd.DataFrame([row]).to_csv(Path(out_dir) / "kpis.csv", index=False)
    except ScenarioError as err:
        row["error"] = "; ".join(err.lines())
    except Exception as err:  # noqa: BLE001 - one variant's failure must not end the sweep
        row["error"] = f"{type(err).__name__}: {err}"
    row["wall_s"] = round(time.perf_counter() - t0, 3)
    return row


def load_scenario_data(path: Path) -> dict[str, Any]:
    """The scenario file as plain data (validated once here, so a broken base file fails fast)."""
    from twin.catalog import load_scenario

    load_scenario(path)  # raises ScenarioError with every problem
    data = read_scenario_data(path)
    assert isinstance(data, dict)  # load_scenario refused anything else
    return data


WORKER_EXIT_TIMEOUT_S = 120.0
"""How long a worker process may take to exit at the end of a sweep. One that imported the world
needs seconds for the interpreter's teardown (pandapower, numba, ...: ~3 s on an idle machine);
distributed's nanny kills it after 4 s otherwise ("Worker process still alive ... killing")."""


def close_workers(cluster: Any, timeout_s: float = WORKER_EXIT_TIMEOUT_S) -> None:
    """Ask every worker of a LocalCluster to close and wait for its process to exit."""
    import asyncio

    async def close_all() -> None:
        nannies = list(cluster.workers.values())
        await asyncio.gather(*(n.close(timeout=timeout_s) for n in nannies))

    with contextlib.suppress(Exception):  # cluster.close() below still stops what is left
        cluster.sync(close_all)


def run_sweep(
    scenario_path: Path,
    variants: Sequence[Variant],
    out_dir: Path,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run every variant on Dask and write `<out_dir>/sweep_kpis.parquet` and `.csv`.

    Args:
        scenario_path: base scenario file.
        variants: from `expand_variants`.
        out_dir: sweep folder; variant runs go to `<out_dir>/<variant.name>/`.
        scheduler: address of a running Dask scheduler (`tcp://host:8786`); None starts a
            LocalCluster of `workers` single-threaded processes bound to 127.0.0.1.
        workers: LocalCluster size.
        on_done: called with each finished row (progress bars).

    Returns:
        The KPI table, one row per variant, in the order of `variants`.

    Raises:
        ScenarioError: the base scenario is invalid.
        SweepError: the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster, as_completed

    data = load_scenario_data(scenario_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cluster = None
    try:
        if scheduler is None:
            # One thread per worker: mosaik runs its own event loop per run, and runs are CPU-bound.
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="10s")
            except OSError as err:
                raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        with client:
            futures = {
                client.submit(
                    run_variant,
                    data,
                    v,
                    str((out_dir / v.name).resolve()),
                    str(scenario_path),
                    key=f"twin-variant-{v.name}",
                    pure=False,
                ): v.name
                for v in variants
            }
            rows: dict[str, dict[str, Any]] = {}
            for future in as_completed(futures):
                name = futures[future]
                try:
                    row = future.result()
                except Exception as err:  # noqa: BLE001 - a lost worker fails one variant, not all
                    row = {
                        "variant": name,
                        "status": "failed",
                        "error": f"{type(err).__name__}: {err}",
                    }
                rows[name] = row
                if on_done is not None:
                    on_done(row)
    finally:
        if cluster is not None:
            close_workers(cluster)
            cluster.close()
    table = pd.DataFrame([rows[v.name] for v in variants])
    table.to_csv(out_dir / "sweep_kpis.csv", index=False)
    table.to_parquet(out_dir / "sweep_kpis.parquet", index=False)
    return table
