"""Per-EV feasible power range for the next step: the hard constraints no service may break.

For each plugged EV, over a step of dt hours:
- upper bound `hi`: charger/vehicle limit, and no charging above the session's SOC promise;
- lower bound `lo`: discharge limit (bidirectional only) and the SOC floor, raised by the
  *departure need*: if the EV could not reach its promised SOC at full power after this step,
  it must charge now (least-laxity rule). Below the floor, `lo = hi` (forced charge).
Unplugged EVs have lo = hi = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from twin.fleet.charger import lag_margin_s as default_lag_margin_s
from twin.fleet.model import FleetView


@dataclass(frozen=True)
class FeasibleRange:
    lo_kw: np.ndarray
    hi_kw: np.ndarray

    @property
    def total_lo_kw(self) -> float:
        return float(self.lo_kw.sum())

    @property
    def total_hi_kw(self) -> float:
        return float(self.hi_kw.sum())


def feasible_range(
    view: FleetView, dt_s: float, lag_margin_s: float | None = None
) -> FeasibleRange:
    """Bounds on each EV's average power over the next step.

    Args:
        view: fleet snapshot at the start of the step.
        dt_s: step length, s.
        lag_margin_s: time reserved before departure for the charger's response lag (default:
            twin.fleet.charger.lag_margin_s of each EV's response time).
    """
    tb = view.table
    if lag_margin_s is None and view.lag_margin_s is not None:
        margin_s = view.lag_margin_s
    else:
        margin_raw = (
            default_lag_margin_s(tb.response_time_s) if lag_margin_s is None else lag_margin_s
        )
        margin_s = np.broadcast_to(np.asarray(margin_raw, dtype=float), tb.battery_kwh.shape)
    return feasible_bounds(
        view.plugged,
        view.soc,
        view.session_target_soc,
        view.depart_s,
        view.time_s,
        dt_s,
        tb.battery_kwh,
        tb.p_charge_max_kw,
        tb.p_discharge_max_kw,
        tb.eta_charge,
        tb.eta_discharge,
        tb.soc_floor,
        margin_s,
    )


def feasible_bounds(
    plugged: np.ndarray,
    soc: np.ndarray,
    target_soc: np.ndarray,
    depart_s: np.ndarray,
    time_s: float,
    dt_s: float,
    battery_kwh: np.ndarray,
    p_charge_max_kw: np.ndarray,
    p_discharge_max_kw: np.ndarray,
    eta_charge: np.ndarray,
    eta_discharge: np.ndarray,
    soc_floor: np.ndarray,
    margin_s: np.ndarray,
) -> FeasibleRange:
    """feasible_range over plain per-EV arrays (e.g. several fleets concatenated, as the EMS
    holds them): one compiled pass instead of one per fleet."""
    lo, hi = np.empty(len(soc)), np.empty(len(soc))
    _bounds(
        plugged,
        soc,
        target_soc,
        depart_s,
        float(time_s),
        float(dt_s),
        battery_kwh,
        p_charge_max_kw,
        p_discharge_max_kw,
        eta_charge,
        eta_discharge,
        soc_floor,
        margin_s,
        lo,
        hi,
    )
    return FeasibleRange(lo_kw=lo, hi_kw=hi)


@njit(cache=True, error_model="numpy")
def _bounds(
    plugged: np.ndarray,
    soc: np.ndarray,
    target_soc: np.ndarray,
    depart_s: np.ndarray,
    time_s: float,
    dt_s: float,
    cap: np.ndarray,
    p_charge_max_kw: np.ndarray,
    p_discharge_max_kw: np.ndarray,
    eta_charge: np.ndarray,
    eta_discharge: np.ndarray,
    soc_floor: np.ndarray,
    margin_s: np.ndarray,
    lo_out: np.ndarray,
    hi_out: np.ndarray,
) -> None:
    # One pass per EV (compiled): at city scale the array version's ~25 numpy calls per fleet
    # and step cost more than the arithmetic. Formulas as in the module docstring.
    dt_h = dt_s / 3600.0
    for i in range(soc.shape[0]):
        if not plugged[i]:
            lo_out[i] = 0.0
            hi_out[i] = 0.0
            continue
        e_to_target = (target_soc[i] - soc[i]) * cap[i]  # battery side, kWh
        hi = min(p_charge_max_kw[i], max(e_to_target, 0.0) / (eta_charge[i] * dt_h))
        e_above_floor = max(soc[i] - soc_floor[i], 0.0) * cap[i]
        lo = -min(p_discharge_max_kw[i], e_above_floor * eta_discharge[i] / dt_h)
        # Energy that full-power charging after this step can still add; the rest is needed now.
        after_step_h = max(depart_s[i] - time_s - dt_s - margin_s[i], 0.0) / 3600.0
        later_kwh = (
            p_charge_max_kw[i] * eta_charge[i] * after_step_h
            if math.isfinite(after_step_h)
            else math.inf
        )
        # Battery energy this step must be at least e_min; negative e_min = that much may be discharged.
        e_min = e_to_target - later_kwh
        lo_need = e_min / (eta_charge[i] * dt_h) if e_min >= 0 else e_min * eta_discharge[i] / dt_h
        lo = max(lo, lo_need)
        if soc[i] < soc_floor[i]:
            lo = hi
        lo_out[i] = min(lo, hi)
        hi_out[i] = hi
