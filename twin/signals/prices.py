"""Time-of-use electricity prices (smart-grid survey) from a daily period table.

A table is a list of periods {start: "HH:MM", price_per_kwh}; each runs from its start to the
next period's start and the last one wraps past midnight to the first (so a table that does not
begin at 00:00 still covers the whole day). An optional weekend table applies on Saturdays and
Sundays (local time). Prices are in currency units per kWh; the defaults (0.18 night, 0.32 day
07:00-23:00) match the scenario schema's default tariff. Recorded prices come from CSV
(column `price_per_kwh`, see csv_source).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from twin.config.durations import parse_clock_s
from twin.signals.errors import SignalConfigError
from twin.signals.timebase import check_timebase, local_clock

DEFAULT_TOU_PERIODS: tuple[dict[str, Any], ...] = (
    {"start": "00:00", "price_per_kwh": 0.18},
    {"start": "07:00", "price_per_kwh": 0.32},
    {"start": "23:00", "price_per_kwh": 0.18},
)
_WEEKEND = (5, 6)


def parse_tou_periods(
    periods: Sequence[Mapping[str, Any] | Any], field: str = "periods"
) -> tuple[np.ndarray, np.ndarray]:
    """Check a period table and return (start second-of-day ascending, price per kWh).

    Accepts mappings {start, price_per_kwh} or objects with those attributes (the scenario's
    TouPeriod). Raises SignalConfigError for an empty table, bad times, duplicate starts or
    non-numeric prices.
    """
    if not periods:
        raise SignalConfigError(
            field, "needs at least one period {start: 'HH:MM', price_per_kwh: ...}"
        )
    starts, prices = [], []
    for i, period in enumerate(periods):
        get = (
            period.get
            if isinstance(period, Mapping)
            else lambda key, p=period: getattr(p, key, None)
        )
        start_text, price = get("start"), get("price_per_kwh")
        if start_text is None or price is None:
            raise SignalConfigError(f"{field}[{i}]", "needs 'start' (HH:MM) and 'price_per_kwh'")
        try:
            starts.append(parse_clock_s(start_text) % 86400)
            prices.append(float(price))
        except (TypeError, ValueError) as err:
            raise SignalConfigError(f"{field}[{i}]", str(err)) from None
    order = np.argsort(starts, kind="stable")
    starts_s = np.asarray(starts, dtype=float)[order]
    if np.any(np.diff(starts_s) == 0):
        raise SignalConfigError(field, "two periods start at the same time")
    return starts_s, np.asarray(prices, dtype=float)[order]


def _price_at(second_of_day: np.ndarray, starts_s: np.ndarray, prices: np.ndarray) -> np.ndarray:
    # Index -1 (before the first start) wraps to the last period of the previous day.
    index = np.searchsorted(starts_s, second_of_day, side="right") - 1
    return prices[index]


def tou_price_per_kwh(
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    periods: Sequence[Mapping[str, Any] | Any] = DEFAULT_TOU_PERIODS,
    weekend_periods: Sequence[Mapping[str, Any] | Any] | None = None,
) -> np.ndarray:
    """Price per step from a time-of-use table.

    Args:
        start: Time of step 0 (tz-aware; its zone sets the local clock).
        step_s: Step length, s.
        n_steps: Number of steps.
        periods: Weekday (or every-day) table.
        weekend_periods: Table for Saturday and Sunday (None = same as `periods`).

    Returns:
        Price per kWh per step (float64, length n_steps).

    Raises:
        SignalConfigError: Bad time base or tables.
    """
    check_timebase(start, step_s, n_steps)
    starts_s, prices = parse_tou_periods(periods)
    clock = local_clock(start, step_s, n_steps)
    price = _price_at(clock.second_of_day, starts_s, prices)
    if weekend_periods is not None:
        w_starts_s, w_prices = parse_tou_periods(weekend_periods, "weekend_periods")
        weekend = np.isin(clock.weekday, _WEEKEND)
        price = np.where(weekend, _price_at(clock.second_of_day, w_starts_s, w_prices), price)
    return price
