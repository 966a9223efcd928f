"""Value types shared by the schema and by the specs that live beside their services."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from twin.config.durations import parse_clock_s

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Efficiency = Annotated[float, Field(gt=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


class StrictModel(BaseModel):
    """Every scenario model: unknown fields are errors (typos never pass silently), frozen."""

    # inf/NaN are never a valid parameter (a .inf battery gave a "completed" run with NaN KPIs).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ClockWindow(StrictModel):
    """A daily window in local time, `start` inclusive, `end` exclusive; wraps at midnight."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock_s(value)
        return value

    @property
    def seconds(self) -> tuple[int, int]:
        """(start, end) as seconds of the local day."""
        return parse_clock_s(self.start), parse_clock_s(self.end)

    def contains(self, second_of_day: int) -> bool:
        lo, hi = self.seconds
        if lo <= hi:
            return lo <= second_of_day < hi
        return second_of_day >= lo or second_of_day < hi
