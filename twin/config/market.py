"""The scenario's `market:` section: what the aggregator is paid and penalised per product.

A leaf like the rest of twin/config. Settlement (twin/markets/settlement.py) reads these prices
and the run's result columns; it never changes what the EMS did.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from twin.config.bidding import BiddingSpec
from twin.config.durations import parse_duration_s
from twin.config.types import ClockWindow, StrictModel

_Price = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]


class ReservePrices(StrictModel):
    """Tertiary reserve (down-DR): paid for the energy delivered within the band."""

    energy_price_per_kwh: _Price = 0.0
    availability_price_per_kw_h: _Price = 0.0
    """Paid for each kW commanded for each hour the block is active."""
    penalty_per_kwh: _Price = 0.0
    """Charged for each kWh short of (1 - band) x commanded in an interval."""
    band: Annotated[float, Field(ge=0, le=1)] = 0.1
    ev_kw: Annotated[float, Field(gt=0, le=1000)] | None = None
    """Power one EV gives the reserve, kW: with it each entry records the EVs that left for a
    booking during the block (`booking_departures`) and what that cost (`booking_conflict_cost`:
    the penalty on the shortfall those EVs' power x the remaining active time would have covered)."""


class RegulationPrices(StrictModel):
    """Secondary (1) regulation: capacity paid in proportion to the hour's PJM score."""

    capacity_price_per_kw_h: _Price = 0.0
    pass_score: Annotated[float, Field(ge=0, le=1)] = 0.75
    """Below it the hour earns nothing and pays the penalty on its capacity."""
    penalty_per_kw_h: _Price = 0.0


class FemsPrices(StrictModel):
    """Retail / FEMS 30-min kWh schedule: paid per kWh delivered up to the request."""

    energy_price_per_kwh: _Price = 0.0
    penalty_per_kwh: _Price = 0.0
    """Charged per kWh of shortfall below the request."""


class CapacityPrices(StrictModel):
    """Capacity product: the fleet keeps `committed_kw` of demand it could shed available in the
    peak window (availability = fleet power - the lowest power it could go to, per step)."""

    window: ClockWindow = ClockWindow(start="17:00", end="20:00")
    committed_kw: Annotated[float, Field(gt=0, le=1e7)]
    availability_price_per_kw_h: _Price = 0.0
    """Paid per kW available (up to the commitment) per hour of the window."""
    penalty_per_kw_h: _Price = 0.0
    """Charged per kW short of the commitment per hour of the window."""


class CustomerTariff(StrictModel):
    """The participants' bill: a flat energy price, or the run's price signal when present."""

    energy_price_per_kwh: _Price = 0.0
    use_price_signal: bool = False
    """Bill at the run's `signal.price_per_kwh` (the prices signal, same currency) instead."""


class MarketSpec(StrictModel):
    """Settlement of the run's services; `interval` is the settlement period."""

    interval: Annotated[int, Field(gt=0, le=86_400)] = 1800
    currency: Annotated[str, Field(min_length=1, max_length=8)] = "JPY"
    reserve: ReservePrices | None = None
    regulation: RegulationPrices | None = None
    fems: FemsPrices | None = None
    capacity: CapacityPrices | None = None
    customer: CustomerTariff = CustomerTariff()
    bidding: BiddingSpec | None = None
    """Bids sized from a usage prediction at gate closures (twin/markets/bidding.py); without
    it the services run with the capacity their own entries give."""

    @field_validator("interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration_s(value) if isinstance(value, str) else value
