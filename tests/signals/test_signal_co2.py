"""CO2 intensity signal and the Oki islands study 10-level command table at its boundaries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from twin.signals.co2 import co2_intensity_kg_per_kwh

START = dt.datetime(2024, 5, 1, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_intensity_range_hold_and_daily_shape() -> None:
    c = co2_intensity_kg_per_kwh(START, 60.0, 7 * 1440, seed=2)
    assert c.shape == (7 * 1440,)
    assert c.min() >= 0.407 and c.max() <= 0.816
    k = np.arange(c.size)
    np.testing.assert_array_equal(c, c[k - k % 5])  # new value every 5 min
    by_hour = c.reshape(7, 24, 60).mean(axis=(0, 2))
    assert by_hour[12] < by_hour[2] - 0.15  # PV makes noon cleaner than night
    np.testing.assert_array_equal(c, co2_intensity_kg_per_kwh(START, 60.0, 7 * 1440, seed=2))
