"""The KPIs of a run so far, kept step by step while it runs (summary.json has the final ones).

Push-up and push-down are twin.metrics.flexibility's own running form (`WindowShiftSoFar`), over
the windows every reader measures (twin.ems.services.flexibility_windows.push_windows); the grid
extremes read the same `grid.*` columns as the summary's KPIs (twin.results.columns).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from twin.metrics.flexibility import WindowShiftSoFar
from twin.results import columns as col
from twin.telemetry.wire import json_number

KPI_SO_FAR_DOC = {
    "push_up_kwh_per_ev": "sum over push-up window steps of (P - P_baseline) * dt / EVs, kWh/EV",
    "push_down_kwh_per_ev": "sum over push-down window steps of (P_baseline - P) * dt / EVs, kWh/EV",
    "energy_kwh": "sum of fleet power * dt (net, + import), kWh",
    "baseline_energy_kwh": "same for the uncontrolled baseline, kWh",
    "peak_fleet_kw": "largest fleet power so far, kW",
    "min_bus_voltage_pu": "lowest bus voltage so far, pu",
    "max_bus_voltage_pu": "highest bus voltage so far, pu",
    "max_line_loading_pct": "highest line loading so far, %",
    "max_trafo_loading_pct": "highest transformer loading so far, %",
    "steps": "steps accounted so far",
}
"""The `kpis_so_far` block of a message, in this order."""

_EXTREMES = (
    ("min_bus_voltage_pu", col.GRID_VM_MIN_PU, min),
    ("max_bus_voltage_pu", col.GRID_VM_MAX_PU, max),
    ("max_line_loading_pct", col.GRID_LINE_LOADING_MAX_PCT, max),
    ("max_trafo_loading_pct", col.GRID_TRAFO_LOADING_MAX_PCT, max),
)
"""KPI, the results column it is taken from, and how a new step's value is folded in."""


class KpisSoFar:
    """Running KPIs of the fleet totals and the grid.

    Args:
        push_up, push_down: (start, end) seconds of the local day.
        step_s: Step length, s.
        n_ev: EVs in the run (push-up/down are per EV).
    """

    def __init__(
        self, push_up: tuple[int, int], push_down: tuple[int, int], step_s: float, n_ev: int
    ):
        self.push_up = WindowShiftSoFar(push_up, step_s, n_ev, +1)
        self.push_down = WindowShiftSoFar(push_down, step_s, n_ev, -1)
        self._dt_h = step_s / 3600.0
        self.steps = 0
        self.energy_kwh = 0.0
        self.baseline_energy_kwh = 0.0
        self.peak_fleet_kw = -math.inf
        self._extremes = {key: math.inf if pick is min else -math.inf for key, _, pick in _EXTREMES}

    def add(
        self, second_of_day: int, p_kw: float, baseline_p_kw: float, row: Mapping[str, Any]
    ) -> None:
        """Account one step: its local second of day, fleet and baseline power (kW) and the
        recorded row (for the grid extremes; a missing or NaN value leaves an extreme as is)."""
        self.steps += 1
        self.push_up.add(p_kw, baseline_p_kw, second_of_day)
        self.push_down.add(p_kw, baseline_p_kw, second_of_day)
        self.energy_kwh += p_kw * self._dt_h
        self.baseline_energy_kwh += baseline_p_kw * self._dt_h
        self.peak_fleet_kw = max(self.peak_fleet_kw, p_kw)
        extremes = self._extremes
        for key, column, pick in _EXTREMES:
            value = json_number(row.get(column))
            if value is not None:
                extremes[key] = pick(extremes[key], value)

    def values(self) -> dict[str, Any]:
        """The `kpis_so_far` block (JSON-safe: an extreme not seen yet is null)."""
        return {
            "push_up_kwh_per_ev": self.push_up.kwh_per_ev,
            "push_down_kwh_per_ev": self.push_down.kwh_per_ev,
            "energy_kwh": json_number(self.energy_kwh),
            "baseline_energy_kwh": json_number(self.baseline_energy_kwh),
            "peak_fleet_kw": json_number(self.peak_fleet_kw),
            **{key: json_number(v) for key, v in self._extremes.items()},
            "steps": self.steps,
        }
