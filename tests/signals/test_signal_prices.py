"""Time-of-use prices from period tables."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.signals.errors import SignalConfigError
from twin.signals.prices import tou_price_per_kwh

MONDAY = dt.datetime(2024, 6, 3, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_default_day_night_table() -> None:
    price = tou_price_per_kwh(MONDAY, 3600.0, 24)
    expected = np.array([0.18] * 7 + [0.32] * 16 + [0.18])
    np.testing.assert_allclose(price, expected)


def test_table_wraps_past_midnight_and_weekend() -> None:
    periods = [{"start": "22:00", "price_per_kwh": 10.0}, {"start": "07:00", "price_per_kwh": 30.0}]
    weekend = [{"start": "00:00", "price_per_kwh": 5.0}]
    price = tou_price_per_kwh(MONDAY, 3600.0, 7 * 24, periods=periods, weekend_periods=weekend)
    assert price[3] == 10.0  # Monday 03:00 is still in the 22:00 period
    assert price[7] == 30.0 and price[21] == 30.0 and price[22] == 10.0
    np.testing.assert_array_equal(price[5 * 24 :], 5.0)  # Saturday and Sunday


def test_bad_table_raises() -> None:
    with pytest.raises(SignalConfigError, match="HH:MM"):
        tou_price_per_kwh(MONDAY, 3600.0, 2, periods=[{"start": "7am", "price_per_kwh": 1.0}])
    with pytest.raises(SignalConfigError, match="same time"):
        tou_price_per_kwh(
            MONDAY,
            3600.0,
            2,
            periods=[
                {"start": "07:00", "price_per_kwh": 1.0},
                {"start": "07:00", "price_per_kwh": 2.0},
            ],
        )
