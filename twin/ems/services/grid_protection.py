"""Grid protection: every transformer, line and bus voltage stays within its limits at every
model step, while the other services get as much of what they asked as the grid allows.

It sets no target of its own. After the allocation it checks the planned step on the EMS's grid
model (twin.ems.grid_model) and, where an element would leave its limit (less `margins`), moves
EV power between buses or curtails it as little as possible (twin.ems.grid_constraints). Departure
needs and SOC floors stay hard: when a limit cannot be kept without breaking one, the step is
recorded as a conflict (`ems.grid_conflict`, with the binding element's kind).

Recorded per step: `ems.grid_curtailed_kw` (fleet total cut), `ems.grid_moved_kw` (power moved
between buses, total |change|), `ems.grid_conflict` (slack left: kW of flow or mpu of voltage),
`ems.grid_binding_kind` (0 none, 1 transformer, 2 line, 3 over-voltage, 4 under-voltage) and
`ems.grid_binding_element` (its index in the net's element table, -1 for none) and
`ems.grid_uncontrollable` (elements the base load alone puts beyond their limit: left to the
grid, not cured; the plant counts them as `base_load_alone`).

Without a grid model (an EMS built without a network, as in unit tests) it does nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from twin.ems.grid_constraints import KIND_CODES, GridMargins, LinearScreen, enforce_grid_limits
from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig

_RECORD_KEYS = (
    "grid_curtailed_kw",
    "grid_moved_kw",
    "grid_conflict",
    "grid_binding_kind",
    "grid_binding_element",
    "grid_uncontrollable",
)


class GridProtection(Service):
    name = "grid_protection"

    def __init__(
        self, margins: GridMargins | None = None, max_iterations: int = 4, order: int = 1000
    ):
        super().__init__(order)
        self.margins = margins or GridMargins()
        self.max_iterations = max_iterations
        self.lp_steps = 0
        self.conflict_steps = 0
        self.screen = LinearScreen()

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        return plan

    def constrain(
        self,
        ctx: EmsContext,
        p_kw: np.ndarray,
        lo_kw: np.ndarray,
        hi_kw: np.ndarray,
        records: dict[str, float],
    ) -> np.ndarray:
        model = ctx.grid_model
        if model is None or ctx.ev_bus is None:
            records.update(dict.fromkeys(_RECORD_KEYS, 0.0), grid_binding_element=-1.0)
            return p_kw
        out = enforce_grid_limits(
            model,
            ctx.step_index,
            p_kw,
            lo_kw,
            hi_kw,
            ctx.ev_bus,
            margins=self.margins,
            max_iterations=self.max_iterations,
            screen=self.screen,
        )
        self.lp_steps += out.iterations > 0
        self.conflict_steps += out.conflict > 1e-6
        records.update(
            grid_curtailed_kw=out.curtailed_kw,
            grid_moved_kw=out.moved_kw,
            grid_conflict=out.conflict,
            grid_binding_kind=KIND_CODES[out.binding_kind],
            grid_binding_element=float(out.binding_element),
            grid_uncontrollable=float(out.uncontrollable),
        )
        return out.p_kw


class GridProtectionSpec(ServiceConfig):
    type: Literal["grid_protection"]
    order: int = 1000
    margin_loading_pct: Annotated[float, Field(ge=0.0, le=50.0)] = 3.0
    """Planning reserve below each loading limit, percentage points (covers the linearisation
    and what the fleet does differently from its set-points)."""
    margin_vm_pu: Annotated[float, Field(ge=0.0, le=0.05)] = 0.005
    """Planning reserve inside each voltage band, pu."""
    max_iterations: Annotated[int, Field(ge=1, le=20)] = 4
    """LP rounds per step (each followed by a power flow of the repaired plan)."""

    def build(self) -> Service:
        return GridProtection(
            GridMargins(self.margin_loading_pct, self.margin_vm_pu),
            self.max_iterations,
            order=self.order,
        )
