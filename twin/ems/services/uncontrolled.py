"""Uncontrolled charging: plug in and charge at full power until the target SOC (the baseline)."""

from __future__ import annotations

from typing import Literal

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig


class Uncontrolled(Service):
    name = "uncontrolled"

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        return plan.with_target(self.name, float(ctx.hi_kw.sum()), preferred_kw=ctx.hi_kw)


class UncontrolledSpec(ServiceConfig):
    type: Literal["uncontrolled"]

    def build(self) -> Service:
        return Uncontrolled(order=self.order)
