"""A finished (or interrupted) run's folder, read once, and the `View` at any of its steps."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from twin.dashboard.history import (
    BASELINE_P_KW,
    FREQUENCY_HZ,
    P_KW,
    RESPONSE_KW,
    TARGET_KW,
    History,
    history_from_table,
    local_times,
)
from twin.dashboard.view import GridNow, Timeline, View
from twin.ems.services.flexibility_windows import push_windows
from twin.results import columns as col
from twin.results.readers import ResultsError, read_summary, read_table

GRID_NOW = ("vm_pu", "line_loading_pct", "trafo_loading_pct")
"""The col.GRID_DETAIL_TABLES the page draws (EV power per bus has no view)."""
DEFAULT_WINDOWS = dict(zip(("push_up", "push_down"), push_windows(()), strict=True))
"""Without a readable scenario.yaml: the flexibility windows' defaults (10-14 h, 16-20 h)."""


@dataclass(frozen=True)
class ScenarioInfo:
    """What replay needs from the run's scenario.yaml."""

    timezone: str
    grid_name: str
    grid_params: dict[str, Any]
    step_s: int


@dataclass(frozen=True)
class Run:
    """Everything replay needs from a results folder."""

    summary: dict[str, Any]
    table: pd.DataFrame
    grid: dict[str, pd.DataFrame]  # GRID_NOW quantity -> its detail table (when recorded)
    scenario: ScenarioInfo | None
    windows: dict[str, tuple[int, int]]
    notes: list[str] = field(default_factory=list)
    hil_events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def timezone(self) -> str:
        return self.scenario.timezone if self.scenario else "UTC"

    def times(self) -> pd.DatetimeIndex:
        """The step starts in local time (the slider's labels)."""
        return local_times(self.table[col.TIME], self.timezone)


def _read_scenario(path: Path) -> tuple[ScenarioInfo | None, dict[str, tuple[int, int]], list[str]]:
    if not path.exists():
        return (
            None,
            DEFAULT_WINDOWS,
            ["no scenario.yaml in this folder: grid view off, default flexibility windows"],
        )
    # The loader checks the study against every installed service and grid: only when needed.
    from twin.catalog import load_scenario
    from twin.config import ScenarioError

    try:
        sc = load_scenario(path)
    except ScenarioError as err:
        return (
            None,
            DEFAULT_WINDOWS,
            [
                f"scenario.yaml could not be read ({'; '.join(err.lines())}); "
                "grid view and windows use defaults"
            ],
        )
    up, down = push_windows(sc.ems.services)
    info = ScenarioInfo(
        timezone=sc.timezone, grid_name=sc.grid.name, grid_params=sc.grid.params, step_s=sc.step
    )
    return info, {"push_up": up, "push_down": down}, []


def _read_events(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    if not path.exists():
        return [], []
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("events", []), []
    except (json.JSONDecodeError, AttributeError):
        return [], [f"{col.HIL_EVENTS_FILE} is not valid JSON"]


def load_run(run_dir: str | Path) -> Run:
    """Read a results folder.

    Raises:
        ResultsError: Not a run folder, or a run that recorded no step yet.
    """
    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    table = read_table(run_dir, col.TIMESERIES)
    if table.empty:
        raise ResultsError(
            f"{run_dir}: {col.table_file(col.TIMESERIES)} has no rows (the run recorded no step)"
        )
    grid = {}
    for quantity in GRID_NOW:
        with contextlib.suppress(ResultsError):  # grid detail is optional (outputs.grid_detail)
            grid[quantity] = read_table(run_dir, col.GRID_DETAIL_TABLES[quantity])
    scenario, windows, notes = _read_scenario(run_dir / col.SCENARIO_FILE)
    events, event_notes = _read_events(run_dir / col.HIL_EVENTS_FILE)
    return Run(
        summary=summary,
        table=table,
        grid=grid,
        scenario=scenario,
        windows=windows,
        notes=notes + event_notes,
        hil_events=events,
    )


def history_of(run: Run) -> History:
    return history_from_table(run.table, run.timezone, run.grid.get("trafo_loading_pct"))


def grid_now_at(run: Run, i: int) -> GridNow:
    """Per-element values at step i, indexed by element id as a string (as the topology)."""
    out: GridNow = {}
    for quantity, frame in run.grid.items():
        if len(frame) > i:
            series = frame.iloc[i].drop(col.TIME).astype(float)
            series.index = series.index.astype(str)
            out[quantity] = series
    return out


def hil_at(row: pd.Series, columns: pd.Index) -> dict[str, dict[str, Any]]:
    return {
        charger: {quantity: row[c] for quantity, c in fields.items()}
        for charger, fields in col.hil_columns(columns).items()
    }


def view_from_run(run_dir: str | Path, run: Run, i: int, history: History | None = None) -> View:
    """The page at step i (0-based) of the run; pass `history` to reuse one across steps."""
    table, summary = run.table, run.summary
    hist = history if history is not None else history_of(run)
    row = table.iloc[i]
    names = col.fleet_names(table.columns)
    fleets = {
        n: {
            "p_kw": float(row[col.fleet_p_kw(n)]),
            "baseline_p_kw": float(row[col.baseline_p_kw(n)]),
            "plugged_count": row.get(col.fleet_plugged_count(n)),
            "soc_mean": row.get(col.fleet_soc_mean(n)),
            "soc_min": row.get(col.fleet_soc_min(n)),
        }
        for n in names
    }
    notes = list(run.notes)
    if "kpis_error" in summary:
        notes.append(f"KPIs could not be computed for this run: {summary['kpis_error']}")
    frequency = None
    if hist.has(FREQUENCY_HZ):
        frequency = {
            FREQUENCY_HZ: hist.at(FREQUENCY_HZ, i),
            RESPONSE_KW: hist.at(RESPONSE_KW, i),
        }
    sc = run.scenario
    hil = hil_at(row, table.columns)
    return View(
        source="replay",
        scenario=str(summary.get("scenario", Path(run_dir).name)),
        timeline=Timeline(
            timezone=run.timezone, windows=run.windows, now=hist.index[i], mark_now=True
        ),
        step_s=int((sc.step_s if sc else 0) or summary.get("step_s") or 0),
        grid_name=sc.grid_name if sc else None,
        grid_params=(sc.grid_params if sc else None) or {},
        history=hist,
        total={
            "p_kw": hist.at(P_KW, i),
            "baseline_p_kw": hist.at(BASELINE_P_KW, i),
            "target_kw": hist.at(TARGET_KW, i),
            "plugged_count": int(sum(row.get(col.fleet_plugged_count(n), 0) for n in names)),
        },
        fleets=fleets,
        grid_now=grid_now_at(run, i),
        grid_scalars={q: row[c] for q, c in col.grid_columns(table.columns).items()},
        kpis=summary.get("kpis") or {},
        kpi_title=f"KPIs of the run ({summary.get('status', '?')})",
        contributions={s: row[c] for s, c in col.contributions(table.columns).items()},
        frequency=frequency,
        hil=hil or None,
        step_index=i,
        step_count=len(table),
        notes=notes,
        hil_events=run.hil_events,
        violations=summary.get("violations") or None,
        ledger=summary.get("ledger") if isinstance(summary.get("ledger"), dict) else None,
    )


def known_runs(cwd: Path) -> list[str]:
    """Run folders under `<cwd>/results/` (those with a summary), relative to cwd."""
    base = cwd / "results"
    if not base.is_dir():
        return []
    return sorted(
        str(p.relative_to(cwd)) for p in base.iterdir() if (p / col.SUMMARY_FILE).exists()
    )
