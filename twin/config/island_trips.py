"""Household trips of the island study (Oki islands study), as scenario data (a schema leaf)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from twin.config.durations import parse_clock_s, parse_duration_s
from twin.config.types import Fraction, NonNegativeFloat, PositiveFloat, StrictModel

_Strict = StrictModel


class IslandZone(_Strict):
    """One zone (former municipality) of the island study: its centre in arc-seconds of the
    common degree, and the share of the fleet's households that live there."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    lon_s: float
    lat_s: float
    household_share: Fraction


def _island_zones() -> list[IslandZone]:
    # Oki islands study: zone centres (longitude", latitude"); household shares are our
    # assumption (unverified: roughly the former municipalities' populations).
    rows = (
        ("西郷町1", 1187.449, 774.356, 0.35),
        ("西郷町2", 1042.585, 1061.301, 0.30),
        ("都万村", 875.649, 767.343, 0.13),
        ("五箇村", 954.655, 1006.063, 0.14),
        ("布施村", 1198.717, 998.279, 0.08),
    )
    return [IslandZone(name=n, lon_s=x, lat_s=y, household_share=w) for n, x, y, w in rows]


class IslandTripSpec(_Strict):
    """Household trips of the island study (fleet type `island`, see twin/fleet/island_trips.py).

    Weekdays: a commute to the household's fixed destination; weekends: a private trip to a
    destination drawn per day from `weekend_destination_probability` (row = home zone, column =
    destination zone). Distance = |dlat| x m_per_lat_s + |dlon| x m_per_lon_s between zone
    centres (`intra_zone_km` inside a zone). Households with outings use the EV on weekdays and
    weekends / weekdays only / weekends only with equal probability; the others stay plugged
    at home.
    """

    zones: list[IslandZone] = Field(default_factory=_island_zones, min_length=1, max_length=100)
    weekend_destination_probability: list[list[Fraction]] | None = None
    """Zone-to-zone probabilities (rows sum to 1); None = stay in the home zone or go to the
    first zone (the town centre) with equal probability (trips to another zone always go to
    西郷町1, Oki islands study)."""
    commute_destination_probability: list[list[Fraction]] | None = None
    """Draws each household's fixed workplace zone once; None = as the weekend default."""
    outing_share: Fraction = 1.0
    """Share of households that go out at all (the rest keep the EV plugged at home)."""
    m_per_lat_s: PositiveFloat = 30.8
    m_per_lon_s: PositiveFloat = 25.8
    intra_zone_km: NonNegativeFloat = 2.0
    """Trip length when origin and destination are the same zone (our assumption)."""
    speed_km_per_h: PositiveFloat = 30.0
    commute_depart: str = "07:30"
    commute_return: str = "17:30"
    outing_depart: str = "10:00"
    outing_dwell: str = "3h"
    time_std: str = "30min"

    @field_validator("commute_depart", "commute_return", "outing_depart")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock_s(value)
        return value

    @field_validator("outing_dwell", "time_std")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration_s(value)
        return value

    @model_validator(mode="after")
    def _tables(self) -> IslandTripSpec:
        n = len(self.zones)
        total = sum(z.household_share for z in self.zones)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"zones: household shares must sum to 1, got {total:g}")
        for name in ("weekend_destination_probability", "commute_destination_probability"):
            table = getattr(self, name)
            if table is None:
                continue
            if len(table) != n or any(len(row) != n for row in table):
                raise ValueError(f"{name} must be {n} x {n} (one row and column per zone)")
            for i, row in enumerate(table):
                if abs(sum(row) - 1.0) > 1e-6:
                    raise ValueError(f"{name}: row {i} sums to {sum(row):g}, not 1")
        return self
