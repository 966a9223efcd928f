"""Results folders for the report tests: synthetic ones (written with the column builders of
twin.results.columns, no simulation: milliseconds) and one real default run (a day at 15 min)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT
from twin.results import columns as col

TWIN = [sys.executable, "-m", "twin.cli"]
TIMEZONE = "Asia/Tokyo"
FLEETS = ("commuters", "households")

VIOLATIONS = {
    "limits": {
        "source": "grid",
        "vm_min_pu": [0.95, 0.95],
        "vm_max_pu": [1.05, 1.07],
        "line_max_loading_pct": [100.0, 100.0],
        "trafo_max_loading_pct": [100.0, 100.0],
    },
    "controlled": {
        "trafo_overload_steps": 0,
        "line_overload_steps": 0,
        "voltage_band_steps": 3,
        "max_trafo_loading_pct": 91.5,
        "max_line_loading_pct": 48.0,
        "min_vm_pu": 0.991,
        "max_vm_pu": 1.061,
        "element_hours": {"trafo": 0.0, "line": 0.0, "bus_voltage": 1.25},
        "worst": {
            "bus_voltage": {
                "element": 381,
                "name": "LV1.101 Bus 7",
                "excess": 0.011,
                "excess_unit": "pu",
                "step": 76,
                "time": "2025-06-04T19:00:00+09:00",
            }
        },
    },
    "baseline": {
        "trafo_overload_steps": 4,
        "line_overload_steps": 0,
        "voltage_band_steps": 9,
        "max_trafo_loading_pct": 112.0,
        "max_line_loading_pct": 52.0,
        "min_vm_pu": 0.97,
        "max_vm_pu": 1.08,
        "element_hours": {"trafo": 1.0, "line": 0.0, "bus_voltage": 4.5},
        "worst": {
            "trafo": {
                "element": 2,
                "name": "MV-LV trafo",
                "excess": 12.0,
                "excess_unit": "percentage points",
                "step": 75,
                "time": "2025-06-04T18:45:00+09:00",
            }
        },
    },
}


def write_results(
    run_dir: Path,
    days: float = 1.0,
    step_s: int = 900,
    services: tuple[str, ...] = ("smart_charging", "flexibility_windows"),
    violations: dict[str, Any] | None = None,
    grid_baseline: bool = False,
    detail: bool = False,
    extra_kpis: dict[str, Any] | None = None,
    name: str = "synthetic",
) -> Path:
    """A results folder as a run writes it (timeseries, summary.json, scenario.yaml)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    n = int(days * 86400 / step_s)
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2025-06-04T00:00:00", tz=TIMEZONE)
    local = pd.date_range(start, periods=n, freq=f"{step_s}s")
    hour = (local.hour + local.minute / 60).to_numpy()
    table: dict[str, Any] = {
        col.TIME: local.tz_convert("UTC"),
        col.TIME_S: np.arange(n, dtype=np.int64) * step_s,
    }
    for k, f in enumerate(FLEETS):
        base = 200 * np.exp(-(((hour - 8 - 10 * k) % 24) ** 2) / 6)
        ctrl = base + 80 * ((hour >= 10) & (hour < 14)) - 60 * ((hour >= 16) & (hour < 20))
        table[col.fleet_p_kw(f)] = ctrl
        table[col.fleet_plugged_count(f)] = np.full(n, 50)
        table[col.fleet_soc_mean(f)] = 0.6 + 0.1 * np.sin(hour / 24 * 2 * np.pi)
        table[col.fleet_soc_min(f)] = np.full(n, 0.3)
        b = col.baseline_entity(f)
        table[col.fleet_p_kw(b)] = base
        table[col.fleet_plugged_count(b)] = np.full(n, 50)
        table[col.fleet_soc_mean(b)] = np.full(n, 0.6)
        table[col.fleet_soc_min(b)] = np.full(n, 0.3)
    total = sum(table[col.fleet_p_kw(f)] for f in FLEETS)
    table[col.EMS_TARGET_KW] = total
    table[col.EMS_FEASIBLE_LO_KW] = total - 100
    table[col.EMS_FEASIBLE_HI_KW] = total + 150
    for s in services:
        table[col.ems_contribution(s)] = rng.normal(0, 10, n)
    grid = {
        "converged": np.ones(n),
        "vm_min_pu": 0.99 - 0.01 * np.sin(hour / 24 * 2 * np.pi),
        "vm_max_pu": 1.03 + 0.02 * np.cos(hour / 24 * 2 * np.pi),
        "line_loading_max_pct": 30 + 10 * rng.random(n),
        "trafo_loading_max_pct": 50 + 30 * np.sin(hour / 24 * np.pi),
    }
    for q, v in grid.items():
        table[col.grid_column(q)] = v
        if grid_baseline:
            table[col.grid_baseline_column(q)] = v * (1.0 if q == "converged" else 1.02)
    frame = pd.DataFrame(table)
    frame.to_parquet(run_dir / col.table_file(col.TIMESERIES), index=False)
    if detail:
        ids = [str(i) for i in range(12)]
        for key, values in (
            ("vm_pu", 1.0 + 0.03 * rng.random((n, 12))),
            ("line_loading_pct", 60 * rng.random((n, 12))),
            ("trafo_loading_pct", 90 * rng.random((n, 2))),
        ):
            cols = ids[: values.shape[1]]
            d = pd.DataFrame(values, columns=cols)
            d.insert(0, col.TIME, frame[col.TIME])
            d.to_parquet(run_dir / col.table_file(col.GRID_DETAIL_TABLES[key]), index=False)
    kpis: dict[str, Any] = {
        "push_up_kwh_per_ev_day": 3.2,
        "push_down_kwh_per_ev_day": -0.4,
        "push_up_mw_mean": float("nan"),
        "energy_charged_kwh": 5683.7,
        "max_trafo_loading_pct": 98.1,
        "nonconverged_steps": 0,
        "per_fleet": {
            f: {
                "ev_count": 50,
                "push_up_kwh_per_ev_day": 1.0,
                "energy_charged_kwh": 100.0,
                "soc_min": 0.3,
            }
            for f in FLEETS
        },
        **(extra_kpis or {}),
    }
    summary: dict[str, Any] = {
        "scenario": name,
        "status": "completed",
        "seed": 1,
        "start": start.isoformat(),
        "timezone": TIMEZONE,
        "services": list(services),
        "step_s": step_s,
        "steps": n,
        "steps_planned": n,
        "ev_count": 100,
        "wall_time_s": 1.0,
        "kpis": kpis,
    }
    if violations is not None:
        summary["violations"] = violations
    # NaN as JSON's NaN, as the run's summary writer leaves it
    (run_dir / col.SUMMARY_FILE).write_text(json.dumps(summary), encoding="utf-8")
    scenario = {
        "name": name,
        "description": "a synthetic run for the report tests",
        "timezone": TIMEZONE,
        "step": step_s,
        "grid": {"name": "cigre_lv"},
        "ems": {
            "services": [
                {
                    "type": s,
                    **(
                        {"push_up": {"start": "10:00", "end": "14:00"}}
                        if s == "flexibility_windows"
                        else {}
                    ),
                }
                for s in services
            ]
        },
    }
    (run_dir / col.SCENARIO_FILE).write_text(yaml.safe_dump(scenario), encoding="utf-8")
    return run_dir


def twin_run(out: Path, scenario: Path, *overrides: str) -> None:
    """`twin run SCENARIO --out OUT [--set ...]` in a subprocess, as a user runs it."""
    sets = [a for o in overrides for a in ("--set", o)]
    res = subprocess.run(
        [*TWIN, "run", str(scenario), "--out", str(out), "--no-progress", *sets],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.returncode == 0, res.stderr


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scenarios/default.yaml as shipped (a day at 15 min, grid detail on), run once."""
    out = tmp_path_factory.mktemp("report-default") / "default"
    twin_run(out, ROOT / "scenarios" / "default.yaml")
    return out
