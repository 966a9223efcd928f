"""summary.json of a run: the header written when it starts, the fields added when it ends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twin.config import ScenarioError
from twin.config.schema import Scenario
from twin.fleet.model import Fleet
from twin.results import columns as col
from twin.results.files import library_versions
from twin.results.kpis import compute_kpis


def run_header(scenario: Scenario) -> dict[str, Any]:
    """What summary.json says from the start (status `running` until the run ends)."""
    return {
        "scenario": scenario.name,
        "status": "running",
        "seed": scenario.seed,
        "start": scenario.start_local.isoformat(),
        "timezone": scenario.timezone,
        "services": [s.type for s in scenario.ems.services],
        "step_s": scenario.step,
        "steps": 0,
        "steps_planned": scenario.n_steps,
        "ev_count": scenario.ev_count,
        "versions": library_versions(),
    }


def failure_summary(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """Status and fields for summary.json of a run that did not finish: `invalid` with the
    scenario's problems, or `failed` with the error."""
    if isinstance(exc, ScenarioError):
        # A subclass may name its own status (e.g. `not_ready`: the lab's chargers never came).
        return str(getattr(exc, "run_status", "invalid")), {"errors": exc.lines()}
    return "failed", {"error": f"{type(exc).__name__}: {exc}"}


def results_fields(scenario: Scenario, table: Any, fleets: Mapping[str, Fleet]) -> dict[str, Any]:
    """Steps recorded and the KPI block, from the written timeseries table."""
    return {
        "steps": len(table),
        "kpis": compute_kpis(scenario, table, fleets, grid_sim_nonconverged(table)),
    }


def grid_sim_nonconverged(table: Any) -> int:
    if col.GRID_CONVERGED not in table:
        return 0
    return int((table[col.GRID_CONVERGED] < 0.5).sum())
