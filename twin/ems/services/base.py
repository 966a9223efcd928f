"""The one thing every EMS service implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from twin.config.schema import ServiceSpec
from twin.ems.plan import EmsContext, FleetPlan


class Service(ABC):
    """A composable EMS service: reads the context, returns an updated plan.

    Services never see the fleet or mosaik, only the frozen context, so they behave the same
    against simulated and physical chargers and are tested with plain arrays.
    """

    name: str = "service"

    def __init__(self, order: int = 0):
        self.order = order

    @abstractmethod
    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        """Return the plan with this service's target (and optional per-EV preference)."""

    def constrain(
        self,
        ctx: EmsContext,
        p_kw: np.ndarray,
        lo_kw: np.ndarray,
        hi_kw: np.ndarray,
        records: dict[str, float],
    ) -> np.ndarray:
        """A constraint on the allocated per-EV powers (within [lo, hi]), applied after every
        service set its target; records per-step numbers into `records`. Default: none."""
        return p_kw


class ServiceConfig(ServiceSpec):
    """A service's scenario parameters, defined in the service's own module beside the service.

    Subclass it with `type: Literal["<name>"]` and `build()`; the registry
    (twin/ems/services/registry.py) finds every subclass, so adding a service is one file.
    """

    def build(self) -> Service:
        raise NotImplementedError(f"{type(self).__name__} must define build()")
