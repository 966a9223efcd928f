"""Scenario-side parameters of each EMS service (one pydantic model per service `type`).

Adding a service = one class in twin/ems/services/ + one spec here added to `ServiceSpec`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from twin.durations import parse_clock_s


class _ServiceSpecBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order: int = 0
    """Services apply in ascending order; a later one overrides an earlier one's target."""


class ClockWindow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock_s(value)
        return value

    def contains(self, second_of_day: int) -> bool:
        lo, hi = parse_clock_s(self.start), parse_clock_s(self.end)
        if lo <= hi:
            return lo <= second_of_day < hi
        return second_of_day >= lo or second_of_day < hi


class UncontrolledSpec(_ServiceSpecBase):
    type: Literal["uncontrolled"]


class SmartChargingSpec(_ServiceSpecBase):
    type: Literal["smart_charging"]
    cheap_price_quantile: Annotated[float, Field(ge=0.0, le=1.0)] = 0.34
    """Hours whose price is at or below this quantile of the day's prices count as cheap."""


class FlexibilityWindowsSpec(_ServiceSpecBase):
    type: Literal["flexibility_windows"]
    push_up: ClockWindow | None = ClockWindow(start="10:00", end="14:00")
    push_down: ClockWindow | None = ClockWindow(start="16:00", end="20:00")
    discharge_in_push_down: bool = True
    """Bidirectional EVs may discharge (never below floor or departure need) in push-down."""
    push_up_soc_max: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    """In push-up, EVs may charge above the driver's target up to this SOC (store PV surplus);
    None = never above the target (pure time shifting)."""


ServiceSpec = Annotated[
    UncontrolledSpec | SmartChargingSpec | FlexibilityWindowsSpec,
    Field(discriminator="type"),
]
