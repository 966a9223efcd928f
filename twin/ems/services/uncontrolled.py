"""Uncontrolled charging: plug in and charge at full power until the target SOC (the baseline)."""

from __future__ import annotations

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service


class Uncontrolled(Service):
    name = "uncontrolled"

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        return plan.with_target(self.name, float(ctx.hi_kw.sum()), preferred_kw=ctx.hi_kw)
