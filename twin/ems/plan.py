"""What services read (EmsContext) and what they pass along (FleetPlan)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from twin.ems.grid_model import GridModel


@dataclass(frozen=True)
class EmsContext:
    """Frozen snapshot a service decides on; per-EV arrays are all fleets concatenated.

    Attributes:
        time_s: simulation time at the start of the step, s.
        second_of_day: local clock time of the step start, s after midnight.
        dt_s: step length, s.
        lo_kw, hi_kw: per-EV feasible power range (hard constraints).
        soc, plugged, depart_s, target_soc, battery_kwh, eta_charge, p_charge_max_kw: per-EV state.
        signals: current signal values by name (e.g. "price_per_kwh", "price_quantile").
        grid: last grid state (vm_min_pu, ...) or empty before the first power flow.
        p_kw: per-EV charger power at the step start, kW (+ charge, - discharge).
        p_discharge_max_kw, soc_floor: per-EV discharge limit (0 = charge-only) and SOC floor.
        fleet_index: per-EV index into `fleet_names` (which fleet the EV belongs to).
        fleet_names: fleet names in the order the arrays are concatenated.
        energy_net_kwh: cumulative grid energy of all fleets since the start, kWh (in - out);
            lets schedule services close the loop on what was actually delivered.
        place: per-EV place of the current session (twin.fleet.places codes), or None when
            no fleet reports one.
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
    p_kw: np.ndarray | None = None
    p_discharge_max_kw: np.ndarray | None = None
    soc_floor: np.ndarray | None = None
    fleet_index: np.ndarray | None = None
    fleet_names: tuple[str, ...] = ()
    energy_net_kwh: float = 0.0
    place: np.ndarray | None = None
    grid_model: GridModel | None = None
    """The network as the EMS sees it (twin.ems.grid_model), None when the run attached none."""
    ev_bus: np.ndarray | None = None
    """Per EV, its column in `grid_model.ev_buses` (with a grid model)."""
    step_index: int = 0
    forecast: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Series known ahead for the whole run, by name (e.g. the tariff's cumulative cheap time,
    `cheap_cumulative_s`); services index them with `step_index`."""
    """The model step this decision is for (the grid model's forecast row)."""

    def per_ev(self, name: str, default: float = 0.0) -> np.ndarray:
        """An optional per-EV array, or `default` for every EV when the builder left it out."""
        value = getattr(self, name)
        return np.full(len(self.lo_kw), float(default)) if value is None else value


@dataclass(frozen=True)
class FleetPlan:
    """Fleet target and preferred per-EV spread, with each service's contribution recorded."""

    target_kw: float
    preferred_kw: np.ndarray
    contributions_kw: dict[str, float] = field(default_factory=dict)
    hi_kw: np.ndarray | None = None
    """Raised upper bounds (e.g. charging above the driver's target into PV); None = ctx.hi_kw."""
    records: dict[str, float] = field(default_factory=dict)
    """Per-step numbers services want in the results (e.g. "fcr_available_kw"), recorded as
    `ems.<key>`; a service must write the same keys at every step."""
    site_surplus_kw: np.ndarray | None = None
    """Per-EV PV surplus at the place the EV is plugged, kW; the controller records how much of
    it the allocated charging absorbed (`ems.pv_absorbed_kw`)."""

    def with_target(
        self, service: str, target_kw: float, preferred_kw: np.ndarray | None = None
    ) -> FleetPlan:
        contributions = dict(self.contributions_kw)
        contributions[service] = contributions.get(service, 0.0) + (target_kw - self.target_kw)
        return replace(
            self,
            target_kw=float(target_kw),
            contributions_kw=contributions,
            preferred_kw=self.preferred_kw if preferred_kw is None else preferred_kw,
        )

    def with_records(self, **values: float) -> FleetPlan:
        """The plan with more per-step numbers to record (see `records`)."""
        return replace(self, records={**self.records, **{k: float(v) for k, v in values.items()}})
