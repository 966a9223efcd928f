"""Scenario `market.bidding`: how the aggregator sizes its bids before delivery (twin/markets/
bidding.py) and from what history (twin/markets/history.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from twin.config.durations import parse_duration_s
from twin.config.types import StrictModel


class RegulationBid(StrictModel):
    """Secondary (1) regulation capacity, bid per block at the gate."""

    gate: Literal["week_ahead", "day_ahead"] = "day_ahead"
    """week_ahead: Tuesday 14:00 for the Saturday-Friday week; day_ahead: 14:00 the day before."""
    block: Annotated[int, Field(ge=1800, le=86_400)] = 3600
    """Length of a delivery block, s (PJM scores per hour)."""
    max_kw: Annotated[float, Field(gt=0.0, le=1e6)]
    """Most the aggregator offers in a block (its registered capacity), kW."""
    power_per_ev_kw: Annotated[float, Field(gt=0.0, le=1000.0)] | None = None
    """What one plugged EV moves either way, kW; None = the lowest charger power of the
    scenario's bidirectional fleets."""
    step_kw: Annotated[float, Field(ge=0.0, le=1000.0)] = 1.0
    """Bids are whole multiples of this, kW (0 = any value)."""

    @field_validator("block", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration_s(value) if isinstance(value, str) else value


class BiddingSpec(StrictModel):
    """Usage prediction and bid sizing at gate closures."""

    confidence: Annotated[float, Field(ge=0.5, le=0.99)] = 0.9
    """Share of slots the promised cars must be there: 0.5 aggressive (P50), 0.9 conservative."""
    history: str | None = None
    """Sessions CSV (ev_id, arrival, departure, energy_kwh; relative to the scenario's folder);
    None = the fleets' own behaviour model over the `history_days` before the run."""
    history_days: Annotated[int, Field(ge=14, le=366)] = 56
    holdout_days: Annotated[int, Field(ge=7, le=182)] = 7
    """The last days of the history are kept out of training to score the prediction
    (`prediction_holdout.csv`); the bids themselves use all of it up to the gate."""
    regulation: RegulationBid | None = None

    @field_validator("history")
    @classmethod
    def _relative_to_scenario(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if "\x00" in value:
            raise ValueError("history contains a NUL character")
        base = Path((info.context or {}).get("base_dir") or ".")
        return value if Path(value).is_absolute() else str((base / value).resolve())

    @model_validator(mode="after")
    def _training_left(self) -> BiddingSpec:
        if self.history is None and self.history_days - self.holdout_days < 7:
            raise ValueError(
                f"history_days ({self.history_days}) - holdout_days ({self.holdout_days}) leaves "
                "less than a week to learn from"
            )
        return self
