"""Scenario `market.bidding`: how bids are sized."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BiddingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confidence: float = Field(0.9, gt=0.0, le=1.0)
    """Plug-in probability an EV needs to be counted (0.5 aggressive, 0.9 conservative)."""
    history: str | None = None
    """Sessions CSV (ev_id, arrival, departure, energy_kwh); None = the run's earlier days."""
    products: list[str] = Field(default_factory=list)
