"""A plain-array EmsContext for service unit tests (no fleet, no mosaik)."""

from __future__ import annotations

import numpy as np

from twin.ems.plan import EmsContext, FleetPlan


def make_ctx(
    lo_kw,
    hi_kw,
    *,
    signals=None,
    time_s=0,
    second_of_day=0,
    dt_s=1.0,
    soc=None,
    p_charge_max_kw=6.0,
    p_discharge_max_kw=6.0,
    soc_floor=0.3,
    battery_kwh=40.0,
    target_soc=0.9,
    plugged=None,
    fleet_index=None,
    fleet_names=("fleet",),
    energy_net_kwh=0.0,
) -> EmsContext:
    lo = np.asarray(lo_kw, dtype=float)
    n = lo.size
    full = lambda v: np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()  # noqa: E731
    return EmsContext(
        time_s=time_s,
        second_of_day=second_of_day,
        dt_s=dt_s,
        lo_kw=lo,
        hi_kw=np.asarray(hi_kw, dtype=float),
        soc=full(0.6 if soc is None else soc),
        plugged=np.ones(n, bool) if plugged is None else np.asarray(plugged, bool),
        depart_s=np.full(n, np.inf),
        target_soc=full(target_soc),
        battery_kwh=full(battery_kwh),
        eta_charge=full(1.0),
        p_charge_max_kw=full(p_charge_max_kw),
        signals=dict(signals or {}),
        p_kw=np.zeros(n),
        p_discharge_max_kw=full(p_discharge_max_kw),
        soc_floor=full(soc_floor),
        fleet_index=np.zeros(n, int) if fleet_index is None else np.asarray(fleet_index),
        fleet_names=tuple(fleet_names),
        energy_net_kwh=energy_net_kwh,
    )


def plan_at(target_kw: float, n: int, contributions: dict | None = None) -> FleetPlan:
    """A plan whose earlier services asked for `target_kw`, spread evenly."""
    return FleetPlan(
        target_kw=target_kw,
        preferred_kw=np.full(n, target_kw / n),
        contributions_kw={"earlier": target_kw} if contributions is None else contributions,
    )
