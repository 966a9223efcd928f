"""Power cap: the fleet's grid power stays inside a contracted or connection limit.

Applied last (high `order`), it clips whatever the services before it planned: the import to
`max_import_kw` (e.g. a site's contract demand) and, if set, the export to `max_export_kw`. The
departure need stays a hard rule: when the EVs' lower bounds alone exceed the cap, the
allocation keeps them (the cap is then reported as not kept, `ems.power_cap_short_kw`).

Adding this service took this one file: the spec below is found by the registry.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig


class PowerCap(Service):
    name = "power_cap"

    def __init__(self, max_import_kw: float, max_export_kw: float | None = None, order: int = 200):
        super().__init__(order)
        self.max_import_kw = max_import_kw
        self.max_export_kw = max_export_kw

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        lo_total, hi_kw = float(ctx.lo_kw.sum()), ctx.hi_kw if plan.hi_kw is None else plan.hi_kw
        upper = self.max_import_kw
        lower = -np.inf if self.max_export_kw is None else -self.max_export_kw
        target = min(max(plan.target_kw, lower), upper)
        # What the hard lower bounds force beyond the cap (the allocation will not go below them).
        short_kw = max(lo_total - upper, 0.0)
        if target == plan.target_kw:
            return plan.with_records(power_cap_binding=0.0, power_cap_short_kw=short_kw)
        # Spread the cut like the plan spread the power: scale the preferred set-points toward
        # the bound they move to, never past an EV's own range.
        pref = plan.preferred_kw
        total = float(pref.sum())
        if target < plan.target_kw and total > 0.0:
            pref = np.maximum(pref * (max(target, 0.0) / total), ctx.lo_kw)
        elif target > plan.target_kw and total < 0.0:
            pref = np.minimum(pref * (min(target, 0.0) / total), hi_kw)
        return plan.with_target(self.name, target, preferred_kw=pref).with_records(
            power_cap_binding=1.0, power_cap_short_kw=short_kw
        )


class PowerCapSpec(ServiceConfig):
    type: Literal["power_cap"]
    order: int = 200
    max_import_kw: Annotated[float, Field(ge=0.0)]
    """The fleet's grid import never planned above this, kW (e.g. the contract demand)."""
    max_export_kw: Annotated[float, Field(ge=0.0)] | None = None
    """The fleet's export never planned above this, kW; None = no export limit."""

    def build(self) -> Service:
        return PowerCap(self.max_import_kw, self.max_export_kw, order=self.order)
