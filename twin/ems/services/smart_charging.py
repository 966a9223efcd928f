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

# The tariff's cumulative cheap time, known ahead (twin.signals.scenario_signals.ems_forecasts).
from twin.signals.scenario_signals import CHEAP_CUMULATIVE_FORECAST


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
        # Only the cheap time before departure counts: spreading over all the time left put
        # part of the energy into the expensive hours before a daytime departure (a car out at
        # 18:00 charged 7/18 of its need in the 00-07 cheap hours and the rest at 16-18).
        cheap_h = cheap_hours_before(ctx, CHEAP_CUMULATIVE_FORECAST)
        if cheap_h is not None:
            time_left_h = np.where(np.isfinite(ctx.depart_s), cheap_h, time_left_h)
        flat = np.clip(e_needed_kwh / time_left_h, ctx.lo_kw, ctx.hi_kw)
        return plan.with_target(self.name, float(flat.sum()), preferred_kw=flat)


def cheap_hours_before(ctx: EmsContext, name: str) -> np.ndarray | None:
    """Per EV, the cheap hours from this step to its departure, from the forecast's cumulative
    cheap time (at least one step). A departure after the run's end gets the cheap share of the
    run's last day for the time beyond it. None without the forecast."""
    cumulative = ctx.forecast.get(name)
    if cumulative is None or cumulative.size < 2:
        return None
    n = cumulative.size - 1
    k = min(max(ctx.step_index, 0), n)
    depart = np.where(np.isfinite(ctx.depart_s), ctx.depart_s, ctx.time_s)
    index = np.clip(np.ceil(depart / ctx.dt_s - 1e-9), k, n).astype(np.int64)
    cheap_s = cumulative[index] - cumulative[k]
    day = min(n, max(int(round(86_400 / ctx.dt_s)), 1))
    share = (cumulative[n] - cumulative[n - day]) / (day * ctx.dt_s)
    cheap_s = cheap_s + share * np.maximum(depart - n * ctx.dt_s, 0.0)
    return np.maximum(cheap_s, ctx.dt_s) / 3600.0


class SmartChargingSpec(ServiceConfig):
    type: Literal["smart_charging"]
    cheap_price_quantile: Annotated[float, Field(ge=0.0, le=1.0)] = 0.34
    """Hours whose price is at or below this quantile of the day's prices count as cheap."""

    def build(self) -> Service:
        return SmartCharging(self.cheap_price_quantile, order=self.order)
