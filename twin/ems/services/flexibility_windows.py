"""Flexibility windows (R1): push demand up in the PV-peak window and down in the demand-peak
window, within every EV's hard constraints. Outside the windows the plan is left as it came."""

from __future__ import annotations

import numpy as np

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service
from twin.ems.services.specs import ClockWindow


class FlexibilityWindows(Service):
    name = "flexibility_windows"

    def __init__(self, push_up: ClockWindow | None, push_down: ClockWindow | None,
                 discharge_in_push_down: bool = True, order: int = 0):
        super().__init__(order)
        self.push_up = push_up
        self.push_down = push_down
        self.discharge_in_push_down = discharge_in_push_down

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        if self.push_up is not None and self.push_up.contains(ctx.second_of_day):
            return plan.with_target(self.name, float(ctx.hi_kw.sum()))
        if self.push_down is not None and self.push_down.contains(ctx.second_of_day):
            floor = ctx.lo_kw if self.discharge_in_push_down else np.maximum(ctx.lo_kw, 0.0)
            return plan.with_target(self.name, float(floor.sum()), preferred_kw=floor)
        return plan
