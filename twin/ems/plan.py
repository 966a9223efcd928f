"""What services read (EmsContext) and what they pass along (FleetPlan)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EmsContext:
    """Frozen snapshot a service decides on; per-EV arrays are all fleets concatenated.

    Attributes:
        time_s: simulation time at the start of the step, s.
        second_of_day: local clock time of the step start, s after midnight.
        dt_s: step length, s.
        lo_kw, hi_kw: per-EV feasible power range (hard constraints).
        soc, plugged, depart_s, target_soc, battery_kwh, eta_charge, p_charge_max_kw: per-EV state.
        signals: current signal values by name (e.g. "price_per_kwh", "price_cheap").
        grid: last grid state (vm_min_pu, ...) or empty before the first power flow.
    """

    time_s: int
    second_of_day: int
    dt_s: float
    lo_kw: np.ndarray
    hi_kw: np.ndarray
    soc: np.ndarray
    plugged: np.ndarray
    depart_s: np.ndarray
    target_soc: np.ndarray
    battery_kwh: np.ndarray
    eta_charge: np.ndarray
    p_charge_max_kw: np.ndarray
    signals: dict[str, float] = field(default_factory=dict)
    grid: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetPlan:
    """Fleet target and preferred per-EV spread, with each service's contribution recorded."""

    target_kw: float
    preferred_kw: np.ndarray
    contributions_kw: dict[str, float] = field(default_factory=dict)
    hi_kw: np.ndarray | None = None
    """Raised upper bounds (e.g. charging above the driver's target into PV); None = ctx.hi_kw."""

    def with_target(self, service: str, target_kw: float,
                    preferred_kw: np.ndarray | None = None) -> FleetPlan:
        contributions = dict(self.contributions_kw)
        contributions[service] = contributions.get(service, 0.0) + (target_kw - self.target_kw)
        return replace(self, target_kw=float(target_kw), contributions_kw=contributions,
                       preferred_kw=self.preferred_kw if preferred_kw is None else preferred_kw)
