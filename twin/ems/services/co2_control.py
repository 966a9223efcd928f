"""CO2-level control (Oki islands study): the 10-level command table and Table 4's rules by place.

The grid CO2 intensity (signal `co2_kg_per_kwh`, every 5 min) gives a command: discharge
level 1..10 at high intensity, charge level 1..10 at low intensity, or none; share = level / 10
of the station's rating (6 kW). With `levels: table` the command comes from the study's table
(twin.products.co2_levels); with `levels: signal` from the signed level signal named by
`command_signal` (e.g. `co2_command_level`, built from the quartiles of the run's own series, or
`balance_command_level` for the supply-demand-balance variant in balance_following.py).

Per-EV power, by where the EV is plugged (the session's place when the fleet reports one,
twin.fleet.places; else the fleet's entry in `places`). "Full" = `charge_to_soc` (100 %); the
discharge stop = max(soc_floor, the session's SOC promise), i.e. 30 % or the day's minimum if
higher (island fleets set soc_target just above the floor, so the promise is the floor plus the
next trip's energy); surplus = PV surplus of the building it is plugged at (building_surplus):

* forced charge (SOC below the discharge stop), at every place (Table 4's forced-charge
  column): charge at rated power, at rated x (1 - share) under a discharge command;
* home, PV surplus: charge the surplus until full;
* home, no surplus: no command -> discharge following the house demand (`building_load_kw`,
  at most rated) down to the discharge stop; a charge / discharge command -> as at the
  workplace (our reading: Table 4 lists the home's command responses only in its forced-charge
  column);
* workplace, PV surplus: as home; no surplus: charge command -> rated x share until full,
  discharge command -> discharge rated x share down to the discharge stop, no command -> idle;
* other places (private destinations): charge at rated power up to the discharge stop only.

Every result is then clipped to the EV's feasible range (the hard floor and the departure need).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig
from twin.ems.services.building_surplus import (
    LOAD_SIGNAL,
    charge_room_kw,
    place_building_surplus_kw,
)
from twin.fleet.places import HOME, OTHER, PLACE_CODES, WORKPLACE
from twin.products.co2_levels import CHARGE, DISCHARGE, NO_COMMAND, co2_command_levels

CO2_SIGNAL = "co2_kg_per_kwh"
_FULL_TOLERANCE = 0.005
_STOP_TOLERANCE = 1e-6
Place = Literal["home", "workplace", "other"]


def signed_command(level_signal: float) -> tuple[int, int]:
    """(level 0..10, direction) of a signed level signal (+ charge, - discharge, 0 none)."""
    level = int(round(min(abs(level_signal), 10.0)))
    if level == 0:
        return 0, NO_COMMAND
    return level, CHARGE if level_signal > 0 else DISCHARGE


class Co2LevelControl(Service):
    name = "co2_control"

    def __init__(
        self,
        station_kw: float = 6.0,
        places: dict[str, Place] | None = None,
        default_place: Place = "home",
        charge_to_soc: float = 1.0,
        levels: Literal["table", "signal"] = "table",
        command_signal: str = "co2_command_level",
        order: int = 20,
    ):
        super().__init__(order)
        self.station_kw = station_kw
        self.places = dict(places or {})
        self.default_place = default_place
        self.charge_to_soc = charge_to_soc
        self.levels = levels
        self.command_signal = command_signal

    def place_codes(self, ctx: EmsContext) -> np.ndarray:
        """Place code of every EV: its session's place where the fleet reports one, else its
        fleet's entry in `places`."""
        by_fleet = np.array(
            [PLACE_CODES[self.places.get(n, self.default_place)] for n in ctx.fleet_names]
            or [PLACE_CODES[self.default_place]]
        )
        index = (
            ctx.fleet_index if ctx.fleet_index is not None else np.zeros(len(ctx.lo_kw), dtype=int)
        )
        fleet_place = by_fleet[index]
        if ctx.place is None:
            return fleet_place
        return np.where(ctx.place >= 0, ctx.place, fleet_place)

    def command(self, ctx: EmsContext) -> tuple[int, int] | None:
        """(level, direction) this step, or None when the signal is missing (no control)."""
        if self.levels == "signal":
            value = float(ctx.signals.get(self.command_signal, np.nan))
            return None if np.isnan(value) else signed_command(value)
        co2 = float(ctx.signals.get(CO2_SIGNAL, np.nan))
        if np.isnan(co2):
            return None
        level, direction = (int(a[0]) for a in co2_command_levels(np.array([co2])))
        return level, direction

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        cmd = self.command(ctx)
        if cmd is None:
            return plan
        level, direction = cmd
        share = level / 10.0
        place = self.place_codes(ctx)
        rated = np.minimum(self.station_kw, ctx.p_charge_max_kw)
        rated_out = np.minimum(self.station_kw, ctx.per_ev("p_discharge_max_kw"))
        room = charge_room_kw(ctx, self.charge_to_soc)
        surplus = np.where(
            ctx.plugged & (place != OTHER), place_building_surplus_kw(ctx, place == WORKPLACE), 0.0
        )
        has_surplus = surplus > 0.0

        # Discharge stop: 30 % or the day's minimum (the session's promise) if higher; the
        # battery energy above it, as grid power over the step (eta_charge stands in for the
        # discharge efficiency, which the context does not carry).
        stop = np.maximum(ctx.per_ev("soc_floor"), ctx.target_soc)
        dt_h = ctx.dt_s / 3600.0
        above_kw = np.maximum(ctx.soc - stop, 0.0) * ctx.battery_kwh * ctx.eta_charge / dt_h
        forced = ctx.soc < stop - _STOP_TOLERANCE

        house_kw = float(ctx.signals.get(LOAD_SIGNAL, 0.0))
        v2h = -np.minimum(np.minimum(house_kw, rated_out), above_kw)
        if direction == CHARGE:
            work = rated * share
        elif direction == DISCHARGE:
            work = -np.minimum(rated_out * share, above_kw)
        else:
            work = np.zeros_like(rated)
        home = v2h if direction == NO_COMMAND else work
        forced_kw = rated * (1.0 - share if direction == DISCHARGE else 1.0)
        power = np.select([place == HOME, place == WORKPLACE], [home, work], np.zeros_like(rated))
        power = np.where(has_surplus, surplus, power)
        power = np.where(forced, np.maximum(power, forced_kw), power)
        power = np.where(power > 0, np.minimum(power, room), power)

        hi = np.maximum(ctx.hi_kw if plan.hi_kw is None else plan.hi_kw, room)
        power = np.where(ctx.plugged, np.clip(power, ctx.lo_kw, hi), 0.0)
        plan = plan.with_target(self.name, float(power.sum()), preferred_kw=power)
        signed_level = level if direction == CHARGE else -level if direction == DISCHARGE else 0
        v2h_evs = ctx.plugged & (place == HOME) & ~has_surplus & ~forced & (power < 0)
        plan = plan.with_records(
            **{f"{self.record_prefix}_level": float(signed_level)},
            **{f"{self.record_prefix}_v2h_evs": float(v2h_evs.sum())},
        )
        return replace(plan, hi_kw=hi, site_surplus_kw=surplus)

    record_prefix = "co2"
    """Records are `<prefix>_level` (signed command) and `<prefix>_v2h_evs`."""


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
    levels: Literal["table", "signal"] = "table"
    """`table`: the study's 10-level table on the CO2 intensity; `signal`: the signed level
    signal `command_signal` (levels from the quartiles of the run's own CO2 series)."""
    command_signal: Annotated[str, Field(min_length=1, max_length=100)] = "co2_command_level"

    def build(self) -> Service:
        return Co2LevelControl(
            self.station_kw,
            self.places,
            self.default_place,
            self.charge_to_soc,
            self.levels,
            self.command_signal,
            order=self.order,
        )
