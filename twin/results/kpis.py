"""The KPI block of summary.json, computed from the results table and the final fleet states."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from twin.config.schema import Scenario
from twin.ems.services.flexibility_windows import push_windows
from twin.fleet.model import Fleet
from twin.metrics.flexibility import firm_mw, window_shift_kwh_per_ev_day, window_shift_mw_by_day
from twin.results import columns as col
from twin.results.service_kpis import service_kpis


def _windows(scenario: Scenario) -> tuple[tuple[int, int], tuple[int, int]]:
    return push_windows(scenario.ems.services)


def _col(table: pd.DataFrame, name: str, reduce: str) -> float | None:
    if name not in table or table[name].isna().all():
        return None
    return float(getattr(table[name], reduce)())


def _window_mw_kpis(
    p_ctrl: np.ndarray,
    p_base: np.ndarray,
    second_of_day: np.ndarray,
    local: pd.Series,
    up: tuple[int, int],
    down: tuple[int, int],
) -> dict[str, float]:
    day = (local.dt.year * 1000 + local.dt.dayofyear).to_numpy()
    out: dict[str, float] = {}
    for key, window, direction in (("push_up", up, +1), ("push_down", down, -1)):
        daily = window_shift_mw_by_day(p_ctrl, p_base, second_of_day, day, window, direction)
        out[f"{key}_mw_mean"] = float(daily.mean()) if len(daily) else float("nan")
        out[f"{key}_mw_firm90"] = firm_mw(daily, 0.9)
    return out


def compute_kpis(
    scenario: Scenario, table: pd.DataFrame, fleets: Mapping[str, Fleet], nonconverged_steps: int
) -> dict[str, Any]:
    if table.empty:
        return {}
    names = list(scenario.fleets)
    p_ctrl = sum(table[col.fleet_p_kw(n)].to_numpy() for n in names)
    p_base = sum(table[col.baseline_p_kw(n)].to_numpy() for n in names)
    local = pd.to_datetime(table[col.TIME], utc=True).dt.tz_convert(scenario.timezone)
    second_of_day = (local.dt.hour * 3600 + local.dt.minute * 60 + local.dt.second).to_numpy()
    up, down = _windows(scenario)
    n_ev = scenario.ev_count
    dt_h = scenario.step / 3600.0
    kpis: dict[str, Any] = {
        "push_up_kwh_per_ev_day": window_shift_kwh_per_ev_day(
            p_ctrl, p_base, second_of_day, up, scenario.step, n_ev, +1
        ),
        "push_down_kwh_per_ev_day": window_shift_kwh_per_ev_day(
            p_ctrl, p_base, second_of_day, down, scenario.step, n_ev, -1
        ),
        **_window_mw_kpis(p_ctrl, p_base, second_of_day, local, up, down),
        "unmet_departure_energy_kwh": float(
            sum(f.state.unmet_departure_kwh.sum() for f in fleets.values())
        ),
        "energy_charged_kwh": float(sum(f.state.e_grid_in_kwh.sum() for f in fleets.values())),
        "energy_discharged_kwh": float(sum(f.state.e_grid_out_kwh.sum() for f in fleets.values())),
        "energy_baseline_kwh": float(p_base.sum() * dt_h),
        "energy_driven_kwh": float(sum(f.state.e_driven_kwh.sum() for f in fleets.values())),
        "drive_energy_unserved_kwh": float(
            sum(f.state.e_drive_unserved_kwh.sum() for f in fleets.values())
        ),
        "peak_fleet_kw": float(p_ctrl.max()),
        "peak_baseline_kw": float(p_base.max()),
        "min_bus_voltage_pu": _col(table, col.GRID_VM_MIN_PU, "min"),
        "max_bus_voltage_pu": _col(table, col.GRID_VM_MAX_PU, "max"),
        "max_line_loading_pct": _col(table, col.GRID_LINE_LOADING_MAX_PCT, "max"),
        "max_trafo_loading_pct": _col(table, col.GRID_TRAFO_LOADING_MAX_PCT, "max"),
        "nonconverged_steps": int(nonconverged_steps),
        "per_fleet": {},
    }
    for n in names:
        fleet_n = scenario.fleets[n].count
        pc, pb = table[col.fleet_p_kw(n)].to_numpy(), table[col.baseline_p_kw(n)].to_numpy()
        kpis["per_fleet"][n] = {
            "ev_count": fleet_n,
            "push_up_kwh_per_ev_day": window_shift_kwh_per_ev_day(
                pc, pb, second_of_day, up, scenario.step, fleet_n, +1
            ),
            "push_down_kwh_per_ev_day": window_shift_kwh_per_ev_day(
                pc, pb, second_of_day, down, scenario.step, fleet_n, -1
            ),
            "energy_charged_kwh": float(fleets[n].state.e_grid_in_kwh.sum()),
            "energy_discharged_kwh": float(fleets[n].state.e_grid_out_kwh.sum()),
            "soc_min": float(np.min(table[col.fleet_soc_min(n)])),
        }
    if any(f.table.engine is not None for f in fleets.values()):
        # Plug-in hybrids: the driving their battery did not cover, driven on fuel.
        kpis["drive_energy_fuel_kwh"] = float(
            sum(f.state.e_fuel_kwh.sum() for f in fleets.values())
        )
    kpis.update(service_kpis(scenario, table, p_ctrl, p_base))
    return kpis
