"""Time-of-use / dynamic price response (smart-grid survey).

price <= charge_below            -> every plugged EV charges at its upper bound
price >= discharge_above         -> every EV goes to its lower bound (discharge where allowed,
                                    never below floors or departure needs)
otherwise                        -> only the charging that is needed now (max(lo, 0))
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import model_validator

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig

PRICE_SIGNAL = "price_per_kwh"


class PriceResponse(Service):
    name = "price_response"

    def __init__(self, charge_below: float, discharge_above: float | None = None, order: int = 5):
        super().__init__(order)
        self.charge_below = charge_below
        self.discharge_above = discharge_above

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        if PRICE_SIGNAL not in ctx.signals:
            return plan
        price = float(ctx.signals[PRICE_SIGNAL])
        if price <= self.charge_below:
            power = ctx.hi_kw
        elif self.discharge_above is not None and price >= self.discharge_above:
            power = ctx.lo_kw
        else:
            power = np.maximum(ctx.lo_kw, 0.0)
        return plan.with_target(self.name, float(power.sum()), preferred_kw=power)


class PriceResponseSpec(ServiceConfig):
    """Time-of-use / dynamic price response (smart-grid survey)."""

    type: Literal["price_response"]
    order: int = 5
    charge_below: float
    """At or below this price per kWh the fleet charges at full power."""
    discharge_above: float | None = None
    """At or above this price bidirectional EVs discharge (within their floors); None = never."""

    @model_validator(mode="after")
    def _ordered(self) -> PriceResponseSpec:
        if self.discharge_above is not None and self.discharge_above <= self.charge_below:
            raise ValueError(
                f"discharge_above ({self.discharge_above}) must be above charge_below ({self.charge_below})"
            )
        return self

    def build(self) -> Service:
        return PriceResponse(self.charge_below, self.discharge_above, order=self.order)
