"""CO2 intensity signal and the Oki islands study 10-level command table at its boundaries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.products.co2_levels import co2_command_level, co2_command_levels, co2_command_share
from twin.signals.co2 import co2_intensity_kg_per_kwh

START = dt.datetime(2024, 5, 1, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.mark.parametrize(
    ("co2", "level", "direction", "power_kw"),
    [
        (0.816, 10, "discharge", 6.0),
        (0.810, 10, "discharge", 6.0),  # threshold itself counts (>=)
        (0.8099, 9, "discharge", 5.4),
        (0.806, 8, "discharge", 4.8),
        (0.797, 4, "discharge", 2.4),
        (0.790, 1, "discharge", 0.6),
        (0.7899, 0, "none", 0.0),
        (0.76, 0, "none", 0.0),
        (0.7441, 0, "none", 0.0),
        (0.744, 1, "charge", 0.6),  # threshold itself counts (<=)
        (0.596, 5, "charge", 3.0),
        (0.5961, 4, "charge", 2.4),
        (0.52, 7, "charge", 4.2),  # <= 0.521 (7) but > 0.484 (8)
        (0.484, 8, "charge", 4.8),
        (0.410, 10, "charge", 6.0),
        (0.4101, 9, "charge", 5.4),
        (0.407, 10, "charge", 6.0),
    ],
)
def test_level_table_boundaries(co2: float, level: int, direction: str, power_kw: float) -> None:
    command = co2_command_level(co2)
    assert command.level == level
    assert command.direction == direction
    assert command.power_kw == pytest.approx(power_kw)


def test_vectorised_lookup_matches_scalar() -> None:
    co2 = np.array([0.407, 0.52, 0.76, 0.8, 0.816])
    levels, directions = co2_command_levels(co2)
    np.testing.assert_array_equal(levels, [10, 7, 0, 5, 10])  # 0.799 <= 0.8 < 0.801 -> 5
    np.testing.assert_array_equal(directions, [1, 1, 0, -1, -1])
    np.testing.assert_allclose(co2_command_share(levels), [1.0, 0.7, 0.0, 0.5, 1.0])


def test_intensity_range_hold_and_daily_shape() -> None:
    c = co2_intensity_kg_per_kwh(START, 60.0, 7 * 1440, seed=2)
    assert c.shape == (7 * 1440,)
    assert c.min() >= 0.407 and c.max() <= 0.816
    k = np.arange(c.size)
    np.testing.assert_array_equal(c, c[k - k % 5])  # new value every 5 min
    by_hour = c.reshape(7, 24, 60).mean(axis=(0, 2))
    assert by_hour[12] < by_hour[2] - 0.15  # PV makes noon cleaner than night
    np.testing.assert_array_equal(c, co2_intensity_kg_per_kwh(START, 60.0, 7 * 1440, seed=2))
