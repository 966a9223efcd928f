"""Tertiary reserve (1)/(2) (Toyota V2G demo, "down-DR"): consume the commanded reduction less than the
declared baseline while a block is active.

    target_kw = baseline_kw - reduction_kw          (reduction from the reserve signal)

The baseline is declared before the block, as the product requires (twin/products/reserve.py):
a constant `baseline_kw`, or, with `baseline_kw` None, a forecast declared `baseline_lead_s`
(1 h) before each block and frozen from then on. The forecast is the uncontrolled consumption
of the EVs plugged at declaration: each charges at full power from its SOC to its session
target and then idles (EVs away at declaration are forecast at 0 kW); it is averaged over the
product's baseline step (declare_baseline_kw). The block schedule comes from the signal
`reserve_block_start_in_s` (twin.signals.scenario_signals); without it (a CSV command series)
the forecast is declared at the first commanded step and the step is counted in
`reserve_baseline_late`. So the controller cannot move the baseline it is measured against
once the block is near (with the plan of the services before as baseline, the fleet graded
itself: 100 % in band while delivering ~0 kW against the uncontrolled fleet).

Charging reduction and discharge both count. Outside blocks (reduction 0) the plan passes
unchanged. Response time and command interval are those of the signal (the command series
already holds each level over its interval); the product's report interval and settlement rules
are applied by the KPIs.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig
from twin.products.reserve import declare_baseline_kw, reserve_product

RESERVE_SIGNAL = "reserve_reduction_kw"
BLOCK_SIGNAL = "reserve_block_start_in_s"


def uncontrolled_forecast_kw(ctx: EmsContext, start_s: float, n_steps: int) -> np.ndarray:
    """Forecast consumption of the plugged EVs over n_steps of ctx.dt_s from `start_s`: full
    power from the current SOC up to the session target, then 0 (kW per step)."""
    need_kwh = np.where(
        ctx.plugged,
        np.maximum(ctx.target_soc - ctx.soc, 0.0) * ctx.battery_kwh / ctx.eta_charge,
        0.0,
    )
    p_max = np.where(ctx.plugged, ctx.p_charge_max_kw, 0.0)
    dt_h = ctx.dt_s / 3600.0
    edges_h = (start_s - ctx.time_s) / 3600.0 + np.arange(n_steps + 1) * dt_h
    # Energy each EV has drawn by each edge, charging at p_max from now until it has its need.
    drawn = np.minimum(p_max[None, :] * np.maximum(edges_h, 0.0)[:, None], need_kwh[None, :])
    return np.diff(drawn, axis=0).sum(axis=1) / dt_h


class TertiaryReserve(Service):
    name = "reserve"

    def __init__(
        self, product: str = "tertiary_1", baseline_kw: float | None = None, order: int = 60
    ):
        super().__init__(order)
        self.product = reserve_product(product)
        self.baseline_kw = baseline_kw
        self._declared: dict[float, np.ndarray] = {}
        self._late = 0

    def _declare(self, ctx: EmsContext, block_start_s: float) -> np.ndarray:
        rules = self.product
        n = int(round(rules.block_length_s / ctx.dt_s))
        forecast = uncontrolled_forecast_kw(ctx, block_start_s, n)
        declared = declare_baseline_kw(forecast, ctx.dt_s, rules.name)
        self._declared[block_start_s] = declared
        return declared

    def _declared_baseline_kw(self, ctx: EmsContext, plan: FleetPlan, active: bool) -> float:
        rules = self.product
        start_in = float(ctx.signals.get(BLOCK_SIGNAL, math.nan))
        if math.isnan(start_in):
            if not active:
                return plan.target_kw
            # No schedule: declare (late) at the first commanded step of an unknown block.
            key = next(reversed(self._declared), None) if self._declared else None
            if key is None or ctx.time_s - key >= rules.block_length_s:
                self._late += 1
                key = float(ctx.time_s)
                self._declare(ctx, key)
            start_in = key - ctx.time_s
        block_start = float(ctx.time_s) + start_in
        if block_start not in self._declared:
            if start_in > rules.baseline_lead_s:
                return plan.target_kw  # not yet due
            if start_in < rules.baseline_lead_s - ctx.dt_s:
                self._late += 1  # the run began after the declaration was due
            self._declare(ctx, block_start)
        if start_in > 0:
            return plan.target_kw
        declared = self._declared[block_start]
        j = min(int(-start_in // rules.baseline_step_s), declared.size - 1)
        return float(declared[j])

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        reduction_kw = max(float(ctx.signals.get(RESERVE_SIGNAL, 0.0)), 0.0)
        active = reduction_kw > 0.0
        if self.baseline_kw is None:
            baseline_kw = self._declared_baseline_kw(ctx, plan, active)
        else:
            baseline_kw = self.baseline_kw
        if active:
            plan = plan.with_target(self.name, baseline_kw - reduction_kw)
        records = {
            "reserve_baseline_kw": baseline_kw,
            "reserve_command_kw": reduction_kw,
            "reserve_target_kw": plan.target_kw,
            "reserve_active": float(active),
        }
        if self.baseline_kw is None:
            records["reserve_baseline_late"] = float(self._late)
        return plan.with_records(**records)


class ReserveSpec(ServiceConfig):
    """Tertiary reserve (1)/(2) (Toyota V2G demo: "down-DR"): consume `reduction` less than the baseline."""

    type: Literal["reserve"]
    order: int = 60
    product: Literal["tertiary_1", "tertiary_2", "tertiary_2_2025"] = "tertiary_1"
    baseline_kw: float | None = None
    """Declared baseline, kW (constant); None = a forecast of the uncontrolled fleet, declared
    1 h before each block (the product's baseline lead) and frozen."""

    def build(self) -> Service:
        return TertiaryReserve(self.product, self.baseline_kw, order=self.order)
