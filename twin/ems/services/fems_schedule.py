"""kWh schedule tracking (Toyota V2G demo): deliver each 30-min slot's FEMS request, closed loop.

At every step the target is what is still missing in the current slot over the time left:

    target_kw = (request_kwh - delivered_kwh) / time_left_h

with delivered_kwh = grid energy of the fleets since the slot started (ctx.energy_net_kwh).
Whatever the allocation could not deliver (floors, full batteries, regulation moves riding on
top) is thus caught up in the rest of the slot. Slots are aligned to the local clock
(hh:00 and hh:30 for 30-min slots), like the FEMS requests.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig

FEMS_SIGNAL = "fems_kwh"


class FemsScheduleTracking(Service):
    name = "fems_schedule"

    def __init__(self, slot_s: int = 1800, order: int = 50):
        super().__init__(order)
        self.slot_s = slot_s
        self._slot_start_s: float | None = None
        self._energy_at_slot_start_kwh = 0.0

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        request_kwh = float(ctx.signals.get(FEMS_SIGNAL, 0.0))
        into_slot_s = ctx.second_of_day % self.slot_s
        slot_start_s = ctx.time_s - into_slot_s
        if slot_start_s != self._slot_start_s:
            self._slot_start_s = slot_start_s
            self._energy_at_slot_start_kwh = ctx.energy_net_kwh
        delivered_kwh = ctx.energy_net_kwh - self._energy_at_slot_start_kwh
        time_left_h = max(self.slot_s - into_slot_s, ctx.dt_s) / 3600.0
        target_kw = (request_kwh - delivered_kwh) / time_left_h
        plan = plan.with_target(self.name, target_kw)
        return plan.with_records(
            fems_request_kwh=request_kwh, fems_delivered_kwh=delivered_kwh, fems_target_kw=target_kw
        )


class FemsScheduleSpec(ServiceConfig):
    """kWh schedule tracking of the FEMS 30-min requests (Toyota V2G demo), closed loop on delivered energy."""

    type: Literal["fems_schedule"]
    order: int = 50
    slot_s: Annotated[int, Field(gt=0)] = 1800

    def build(self) -> Service:
        return FemsScheduleTracking(self.slot_s, order=self.order)
