"""PV-surplus charging (smart-grid survey, the Oki islands study "charge the surplus until full").

Every plugged EV whose building has a PV surplus charges at least that surplus, above the
driver's target if need be, up to `soc_max`:

    p_i = max(plan_i, min(surplus_i, room_i))

where plan_i is the earlier services' preferred power and room_i the power that fills the EV
to soc_max within the step. The fleet target grows by the added power; the surplus per EV is
handed to the controller, which records how much of it the final allocation absorbed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig
from twin.ems.services.building_surplus import charge_room_kw, ev_building_surplus_kw


class PvSurplusCharging(Service):
    name = "pv_surplus"

    def __init__(self, soc_max: float = 1.0, order: int = 30):
        super().__init__(order)
        self.soc_max = soc_max

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        surplus = np.where(ctx.plugged, ev_building_surplus_kw(ctx), 0.0)
        room = charge_room_kw(ctx, self.soc_max)
        preferred = np.maximum(plan.preferred_kw, np.minimum(surplus, room))
        added_kw = float((preferred - plan.preferred_kw).sum())
        hi = np.maximum(ctx.hi_kw if plan.hi_kw is None else plan.hi_kw, np.minimum(surplus, room))
        plan = plan.with_target(self.name, plan.target_kw + added_kw, preferred_kw=preferred)
        return replace(plan, hi_kw=hi, site_surplus_kw=surplus)


class PvSurplusSpec(ServiceConfig):
    """Charge the PV surplus of the building each EV is plugged at (smart-grid survey, Oki islands study)."""

    type: Literal["pv_surplus"]
    order: int = 30
    soc_max: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """EVs may charge surplus above the driver's target up to this SOC."""

    def build(self) -> Service:
        return PvSurplusCharging(self.soc_max, order=self.order)
