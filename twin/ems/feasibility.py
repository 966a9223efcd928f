"""Per-EV feasible power range for the next step: the hard constraints no service may break.

For each plugged EV, over a step of dt hours:
- upper bound `hi`: charger/vehicle limit, and no charging above the session's SOC promise;
- lower bound `lo`: discharge limit (bidirectional only) and the SOC floor, raised by the
  *departure need*: if the EV could not reach its promised SOC at full power after this step,
  it must charge now (least-laxity rule). Below the floor, `lo = hi` (forced charge).
Unplugged EVs have lo = hi = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def feasible_range(view: FleetView, dt_s: float, lag_margin_s: float | None = None) -> FeasibleRange:
    """Bounds on each EV's average power over the next step.

    Args:
        view: fleet snapshot at the start of the step.
        dt_s: step length, s.
        lag_margin_s: time reserved before departure for the charger's response lag (default:
            twin.fleet.charger.lag_margin_s of each EV's response time).
    """
    tb = view.table
    dt_h = dt_s / 3600.0
    cap = tb.battery_kwh
    plugged = view.plugged

    e_to_target = (view.session_target_soc - view.soc) * cap  # battery side, kWh
    hi = np.minimum(tb.p_charge_max_kw, np.maximum(e_to_target, 0.0) / (tb.eta_charge * dt_h))

    e_above_floor = np.maximum(view.soc - tb.soc_floor, 0.0) * cap
    lo = -np.minimum(tb.p_discharge_max_kw, e_above_floor * tb.eta_discharge / dt_h)

    margin_s = default_lag_margin_s(tb.response_time_s) if lag_margin_s is None else lag_margin_s
    time_left_s = view.depart_s - view.time_s
    after_step_h = np.maximum(time_left_s - dt_s - margin_s, 0.0) / 3600.0
    # Energy that full-power charging after this step can still add; the rest is needed now.
    later_kwh = np.where(np.isfinite(after_step_h), tb.p_charge_max_kw * tb.eta_charge * after_step_h, np.inf)
    # Battery energy this step must be at least e_min; negative e_min = that much may be discharged.
    e_min = e_to_target - later_kwh
    lo_need = np.where(e_min >= 0, e_min / (tb.eta_charge * dt_h), e_min * tb.eta_discharge / dt_h)
    lo = np.maximum(lo, lo_need)
    below_floor = view.soc < tb.soc_floor
    lo = np.where(below_floor, hi, lo)
    lo = np.minimum(lo, hi)

    return FeasibleRange(lo_kw=np.where(plugged, lo, 0.0), hi_kw=np.where(plugged, hi, 0.0))
