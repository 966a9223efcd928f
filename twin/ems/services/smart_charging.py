"""Smart charging: every EV leaves with its energy (guaranteed by the feasible range's lower
bound), and the rest of the charging moves into cheap hours, spread evenly over the cheap time
left before departure instead of all at once (which would only move the peak to the tariff edge).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig

# Cheap time left in the current run of cheap steps, s (built with the price signals).
from twin.signals.scenario_signals import CHEAP_LEFT_SIGNAL


class SmartCharging(Service):
    name = "smart_charging"

    def __init__(self, cheap_price_quantile: float = 0.34, order: int = 0):
        super().__init__(order)
        self.cheap_price_quantile = cheap_price_quantile

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        # price_quantile = share of the day's steps priced at or below the current price.
        if ctx.signals.get("price_quantile", 1.0) > self.cheap_price_quantile:
            # Defer: only what the departure need forces now. Never discharge for price alone;
            # discharging is for services that ask for it (push-down, frequency, reserves).
            deferred = np.maximum(ctx.lo_kw, 0.0)
            return plan.with_target(self.name, float(deferred.sum()), preferred_kw=deferred)
        e_needed_kwh = np.maximum(ctx.target_soc - ctx.soc, 0.0) * ctx.battery_kwh / ctx.eta_charge
        time_left_h = np.maximum(ctx.depart_s - ctx.time_s, ctx.dt_s) / 3600.0
        # Open-ended sessions (inf departure) get the flat rate over one day.
        time_left_h = np.where(np.isfinite(time_left_h), time_left_h, 24.0)
        # Only the cheap time before departure counts: spreading over the expensive hours after
        # the cheap run left part of the energy to be forced in at the dear rate before leaving
        # (a car out at 18:00 charged 7/18 of its need in the 00-07 cheap run, the rest at 16-18).
        # Sessions without a departure keep the one-day spread: no deadline forces dear energy.
        cheap_left_s = ctx.signals.get(CHEAP_LEFT_SIGNAL)
        if cheap_left_s is not None and cheap_left_s > 0:
            time_left_h = np.where(
                np.isfinite(ctx.depart_s),
                np.minimum(time_left_h, max(cheap_left_s, ctx.dt_s) / 3600.0),
                time_left_h,
            )
        flat = np.clip(e_needed_kwh / time_left_h, ctx.lo_kw, ctx.hi_kw)
        return plan.with_target(self.name, float(flat.sum()), preferred_kw=flat)


class SmartChargingSpec(ServiceConfig):
    type: Literal["smart_charging"]
    cheap_price_quantile: Annotated[float, Field(ge=0.0, le=1.0)] = 0.34
    """Hours whose price is at or below this quantile of the day's prices count as cheap."""

    def build(self) -> Service:
        return SmartCharging(self.cheap_price_quantile, order=self.order)
