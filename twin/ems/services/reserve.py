"""Tertiary reserve (1)/(2) (Toyota V2G demo, "down-DR"): consume the commanded reduction less than the
declared baseline while a block is active.

    target_kw = baseline_kw - reduction_kw          (reduction from the reserve signal)

The baseline is declared (a constant `baseline_kw`, declared before the block as the product
requires) or, with `baseline_kw` None, the plan of the services before this one. Charging
reduction and discharge both count. Outside blocks (reduction 0) the plan passes unchanged.
Response time and command interval are those of the signal (the command series already holds each level over its interval); the
product's report interval and settlement rules are applied by the KPIs.
"""

from __future__ import annotations

from typing import Literal

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig
from twin.products.reserve import reserve_product

RESERVE_SIGNAL = "reserve_reduction_kw"


class TertiaryReserve(Service):
    name = "reserve"

    def __init__(
        self, product: str = "tertiary_1", baseline_kw: float | None = None, order: int = 60
    ):
        super().__init__(order)
        self.product = reserve_product(product)
        self.baseline_kw = baseline_kw

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        reduction_kw = max(float(ctx.signals.get(RESERVE_SIGNAL, 0.0)), 0.0)
        baseline_kw = plan.target_kw if self.baseline_kw is None else self.baseline_kw
        active = reduction_kw > 0.0
        if active:
            plan = plan.with_target(self.name, baseline_kw - reduction_kw)
        return plan.with_records(
            reserve_baseline_kw=baseline_kw,
            reserve_command_kw=reduction_kw,
            reserve_target_kw=plan.target_kw,
            reserve_active=float(active),
        )


class ReserveSpec(ServiceConfig):
    """Tertiary reserve (1)/(2) (Toyota V2G demo: "down-DR"): consume `reduction` less than the baseline."""

    type: Literal["reserve"]
    order: int = 60
    product: Literal["tertiary_1", "tertiary_2", "tertiary_2_2025"] = "tertiary_1"
    baseline_kw: float | None = None
    """Declared baseline, kW (constant); None = the plan of the services before this one."""

    def build(self) -> Service:
        return TertiaryReserve(self.product, self.baseline_kw, order=self.order)
