"""Regulation tracking (Toyota V2G demo, secondary reserve (1)): follow a normalised signal every step.

    set-point = basepoint + sign x signal x capacity_kw

The basepoint is the plan of the services before this one (normally the FEMS kWh schedule);
with no earlier service it is 0 kW clipped into the fleet's range. `positive` fixes the sign:
"discharge" (grid convention: + = more injection) gives sign = -1 on consumption.

Conflicts (Toyota V2G demo): when basepoint +- capacity does not fit the fleet's feasible range,
priority "schedule" keeps the basepoint and lets the regulation move be clipped; priority
"regulation" first moves the basepoint inward so the full +-capacity fits where it can.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig

REGULATION_SIGNAL = "regulation_pu"
CAPACITY_SIGNAL = "regulation_capacity_kw"
"""The capacity bid for the step's block (twin/markets/bid_plan.py); when the scenario bids, it
replaces `capacity_kw`, and a block bid at 0 kW is not regulated at all."""


class RegulationTracking(Service):
    name = "regulation"

    def __init__(
        self,
        capacity_kw: float,
        positive: Literal["discharge", "charge"] = "discharge",
        priority: Literal["schedule", "regulation"] = "schedule",
        order: int = 90,
    ):
        super().__init__(order)
        self.capacity_kw = capacity_kw
        self.sign = -1.0 if positive == "discharge" else 1.0
        self.priority = priority

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        capacity_kw = float(ctx.signals.get(CAPACITY_SIGNAL, self.capacity_kw))
        signal_pu = float(np.clip(ctx.signals.get(REGULATION_SIGNAL, 0.0), -1.0, 1.0))
        if capacity_kw <= 0.0:
            signal_pu = 0.0  # nothing was sold for this block: the signal is not ours to follow
        floor_kw, ceiling_kw = float(ctx.lo_kw.sum()), float(ctx.hi_kw.sum())
        basepoint_kw = (
            plan.target_kw if plan.contributions_kw else float(np.clip(0.0, floor_kw, ceiling_kw))
        )
        if self.priority == "regulation":
            lo, hi = floor_kw + capacity_kw, ceiling_kw - capacity_kw
            basepoint_kw = (
                float(np.clip(basepoint_kw, lo, hi)) if lo <= hi else 0.5 * (floor_kw + ceiling_kw)
            )
        setpoint_kw = basepoint_kw + self.sign * signal_pu * capacity_kw
        plan = plan.with_target(self.name, setpoint_kw)
        return plan.with_records(
            reg_signal_pu=signal_pu,
            reg_basepoint_kw=basepoint_kw,
            reg_setpoint_kw=setpoint_kw,
            reg_capacity_kw=capacity_kw,
            reg_sign=self.sign,
        )


class RegulationSpec(ServiceConfig):
    """Regulation tracking (Toyota V2G demo, secondary reserve (1)): basepoint +- signal x offered capacity."""

    type: Literal["regulation"]
    order: int = 90
    capacity_kw: Annotated[float, Field(gt=0.0)]
    """Offered regulation capacity: signal +-1 moves the fleet by this much, kW."""
    positive: Literal["discharge", "charge"] = "discharge"
    """What a positive signal asks for (grid convention: + = inject = discharge / charge less)."""
    priority: Literal["schedule", "regulation"] = "schedule"
    """When schedule +- regulation does not fit the fleet's range, which one gives way (the Toyota V2G demo:
    the kWh schedule wins)."""

    def build(self) -> Service:
        return RegulationTracking(self.capacity_kw, self.positive, self.priority, order=self.order)
