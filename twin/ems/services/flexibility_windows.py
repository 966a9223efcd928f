"""Flexibility windows (Kashiwa EV project): push demand up in the PV-peak window and down in the demand-peak
window, within every EV's hard constraints.

Outside the windows the service only acts ahead of a push-down window: an EV that leaves during
(or soon after) the window would otherwise be *forced* to charge inside it by its departure need,
so that energy is spread over the time left before the window opens instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from twin.config.durations import parse_clock_s
from twin.config.schema import ServiceSpec
from twin.config.types import ClockWindow
from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig


class FlexibilityWindows(Service):
    name = "flexibility_windows"

    def __init__(
        self,
        push_up: ClockWindow | None,
        push_down: ClockWindow | None,
        discharge_in_push_down: bool = True,
        push_up_soc_max: float | None = None,
        order: int = 0,
    ):
        super().__init__(order)
        self.push_up_soc_max = push_up_soc_max
        self.push_up = push_up
        self.push_down = push_down
        self.discharge_in_push_down = discharge_in_push_down

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        if self.push_up is not None and self.push_up.contains(ctx.second_of_day):
            if self.push_up_soc_max is None:
                return plan.with_target(self.name, float(ctx.hi_kw.sum()))
            room_kwh = (
                np.maximum(self.push_up_soc_max - ctx.soc, 0.0) * ctx.battery_kwh / ctx.eta_charge
            )
            hi = np.maximum(
                ctx.hi_kw, np.minimum(ctx.p_charge_max_kw, room_kwh / (ctx.dt_s / 3600.0))
            )
            hi = np.where(ctx.plugged, hi, 0.0)
            plan = plan.with_target(self.name, float(hi.sum()))
            # replace(), not a positional rebuild: keeps the records and surpluses of earlier services.
            return replace(plan, hi_kw=hi)
        if self.push_down is not None and self.push_down.contains(ctx.second_of_day):
            floor = ctx.lo_kw if self.discharge_in_push_down else np.maximum(ctx.lo_kw, 0.0)
            return plan.with_target(self.name, float(floor.sum()), preferred_kw=floor)
        if self.push_down is not None:
            return self._charge_ahead_of_push_down(ctx, plan)
        return plan

    def _charge_ahead_of_push_down(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        assert self.push_down is not None
        opens_in_s = (parse_clock_s(self.push_down.start) - ctx.second_of_day) % 86400
        length_s = (parse_clock_s(self.push_down.end) - parse_clock_s(self.push_down.start)) % 86400
        if opens_in_s > 12 * 3600:
            return plan  # the next push-down window is too far ahead to plan for now
        if self.push_up is not None:
            up_opens_in_s = (parse_clock_s(self.push_up.start) - ctx.second_of_day) % 86400
            if up_opens_in_s < opens_in_s:
                return plan  # the push-up window comes first and charges at full power anyway
        closes_s = ctx.time_s + opens_in_s + length_s
        # Energy that full power after the window cannot deliver before departure (grid side).
        after_h = np.clip(ctx.depart_s - closes_s, 0.0, None) / 3600.0
        e_need = np.maximum(ctx.target_soc - ctx.soc, 0.0) * ctx.battery_kwh / ctx.eta_charge
        finite = np.isfinite(after_h)
        e_after = np.where(finite, ctx.hi_kw * np.where(finite, after_h, 0.0), np.inf)
        e_before = np.maximum(e_need - e_after, 0.0)
        before_h = max(opens_in_s, ctx.dt_s) / 3600.0
        pre = np.clip(e_before / before_h, ctx.lo_kw, ctx.hi_kw)
        preferred = np.maximum(plan.preferred_kw, pre)
        if np.allclose(preferred, plan.preferred_kw):
            return plan
        return plan.with_target(
            self.name, max(plan.target_kw, float(preferred.sum())), preferred_kw=preferred
        )


DEFAULT_PUSH_UP = ClockWindow(start="10:00", end="14:00")
"""Extra demand is asked for here (the PV peak)."""
DEFAULT_PUSH_DOWN = ClockWindow(start="16:00", end="20:00")
"""Demand is reduced here (the evening peak)."""


class FlexibilityWindowsSpec(ServiceConfig):
    type: Literal["flexibility_windows"]
    push_up: ClockWindow | None = DEFAULT_PUSH_UP
    push_down: ClockWindow | None = DEFAULT_PUSH_DOWN
    discharge_in_push_down: bool = True
    """Bidirectional EVs may discharge (never below floor or departure need) in push-down."""
    push_up_soc_max: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    """In push-up, EVs may charge above the driver's target up to this SOC (store PV surplus);
    None = never above the target (pure time shifting)."""

    def build(self) -> Service:
        return FlexibilityWindows(
            self.push_up,
            self.push_down,
            self.discharge_in_push_down,
            self.push_up_soc_max,
            order=self.order,
        )


def push_windows(services: Iterable[ServiceSpec]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The push-up and push-down windows every reader measures (KPIs, telemetry, dashboard), as
    (start, end) seconds of the local day: the scenario's flexibility_windows entry, else (and
    where it switches a window off) the defaults above. The one place these windows come from."""
    up, down = DEFAULT_PUSH_UP, DEFAULT_PUSH_DOWN
    for s in services:
        if isinstance(s, FlexibilityWindowsSpec):
            up = s.push_up or up
            down = s.push_down or down
    return up.seconds, down.seconds
