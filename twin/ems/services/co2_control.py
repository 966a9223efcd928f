"""CO2-level control (Oki islands study): the 10-level command table and the per-place rules.

The grid CO2 intensity (signal `co2_kg_per_kwh`, every 5 min) gives a command: discharge
level 1..10 at high intensity, charge level 1..10 at low intensity, or none
(twin.products.co2_levels.co2_command_levels); share = level / 10 of the station's rating (6 kW).

Per-EV power before the hard limits, by where the EV is plugged (surplus = PV surplus of its
building, see building_surplus; "full" = `charge_to_soc`, the Oki islands study: 100 %):

* home, PV surplus: charge the surplus until full;
* home, no surplus: no command or charge command -> charge at rated power; discharge command ->
  charge at rated x (1 - share); once full, follow the house demand by discharging (V2H) until
  the SOC falls to `v2h_until_soc` (our reading of the Oki islands study's "otherwise": a hysteresis, so a full EV
  does not flip between V2H and charging every step), then charge again;
* workplace, PV surplus: as home; no surplus: charge command -> rated x share until full,
  discharge command -> discharge at rated x share, no command -> idle;
* other places: charge at rated power while below the SOC floor, else idle.

Every result is then clipped to the EV's feasible range, so "discharge stops at 30 % (or the
day's minimum)" and forced charging for the day's trips hold by construction (Oki islands study).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig
from twin.ems.services.building_surplus import LOAD_SIGNAL, charge_room_kw, ev_building_surplus_kw
from twin.products.co2_levels import CHARGE, DISCHARGE, co2_command_levels

CO2_SIGNAL = "co2_kg_per_kwh"
HOME, WORKPLACE, OTHER = 0, 1, 2
_PLACE_CODES = {"home": HOME, "workplace": WORKPLACE, "other": OTHER}
_FULL_TOLERANCE = 0.005


class Co2LevelControl(Service):
    name = "co2_control"

    def __init__(
        self,
        station_kw: float = 6.0,
        places: dict[str, Literal["home", "workplace", "other"]] | None = None,
        default_place: Literal["home", "workplace", "other"] = "home",
        charge_to_soc: float = 1.0,
        v2h_until_soc: float = 0.5,
        order: int = 20,
    ):
        super().__init__(order)
        self.station_kw = station_kw
        self.places = dict(places or {})
        self.default_place = default_place
        self.charge_to_soc = charge_to_soc
        self.v2h_until_soc = v2h_until_soc
        self._v2h: np.ndarray | None = None

    def place_codes(self, ctx: EmsContext) -> np.ndarray:
        """Place code (HOME, WORKPLACE, OTHER) of every EV, from its fleet's entry in `places`."""
        by_fleet = np.array(
            [_PLACE_CODES[self.places.get(n, self.default_place)] for n in ctx.fleet_names]
            or [_PLACE_CODES[self.default_place]]
        )
        index = (
            ctx.fleet_index if ctx.fleet_index is not None else np.zeros(len(ctx.lo_kw), dtype=int)
        )
        return by_fleet[index]

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        co2 = float(ctx.signals.get(CO2_SIGNAL, np.nan))
        if np.isnan(co2):
            return plan
        level, direction = (int(a[0]) for a in co2_command_levels(np.array([co2])))
        share = level / 10.0
        place = self.place_codes(ctx)
        rated = np.minimum(self.station_kw, ctx.p_charge_max_kw)
        rated_out = np.minimum(self.station_kw, ctx.per_ev("p_discharge_max_kw"))
        room = charge_room_kw(ctx, self.charge_to_soc)
        surplus = np.where(ctx.plugged & (place != OTHER), ev_building_surplus_kw(ctx), 0.0)
        has_surplus = surplus > 0.0
        full = ctx.soc >= self.charge_to_soc - _FULL_TOLERANCE

        if self._v2h is None or self._v2h.size != ctx.soc.size:
            self._v2h = np.zeros(ctx.soc.size, dtype=bool)
        floor = ctx.per_ev("soc_floor")
        at_home_no_surplus = ctx.plugged & (place == HOME) & ~has_surplus
        leave = ~ctx.plugged | (ctx.soc <= np.maximum(self.v2h_until_soc, floor) + 1e-9)
        self._v2h = np.where(leave, False, self._v2h | (at_home_no_surplus & full))

        charge_factor = {CHARGE: 1.0, DISCHARGE: 1.0 - share}.get(direction, 1.0)
        house_kw = float(ctx.signals.get(LOAD_SIGNAL, 0.0))
        home = np.where(self._v2h, -house_kw, rated * charge_factor)
        work = {CHARGE: rated * share, DISCHARGE: -rated_out * share}.get(
            direction, np.zeros_like(rated)
        )
        other = np.where(ctx.soc < floor, rated, 0.0)
        power = np.select([place == HOME, place == WORKPLACE], [home, work], other)
        power = np.where(has_surplus, surplus, power)
        power = np.where(power > 0, np.minimum(power, room), power)

        hi = np.maximum(ctx.hi_kw if plan.hi_kw is None else plan.hi_kw, room)
        power = np.where(ctx.plugged, np.clip(power, ctx.lo_kw, hi), 0.0)
        plan = plan.with_target(self.name, float(power.sum()), preferred_kw=power)
        signed_level = level if direction == CHARGE else -level if direction == DISCHARGE else 0
        plan = plan.with_records(co2_level=float(signed_level), co2_v2h_evs=float(self._v2h.sum()))
        return replace(plan, hi_kw=hi, site_surplus_kw=surplus)


Place = Literal["home", "workplace", "other"]


class Co2ControlSpec(ServiceConfig):
    """CO2-level control with the 10-level table and the per-place rules of the Oki islands study."""

    type: Literal["co2_control"]
    order: int = 20
    station_kw: Annotated[float, Field(gt=0.0)] = 6.0
    places: dict[str, Place] = Field(default_factory=dict)
    """Fleet name -> where its EVs are plugged; fleets not listed use `default_place`."""
    default_place: Place = "home"
    charge_to_soc: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """the Oki islands study: charging goes up to 100 %."""
    v2h_until_soc: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """A full EV at home without surplus covers the house demand by discharging until its SOC
    falls to this level (never below its floor), then charges again."""

    def build(self) -> Service:
        return Co2LevelControl(
            self.station_kw,
            self.places,
            self.default_place,
            self.charge_to_soc,
            self.v2h_until_soc,
            order=self.order,
        )
