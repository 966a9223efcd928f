"""The 10-level CO2 command table of the Oki islands study at its boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from twin.products.co2_levels import co2_command_level, co2_command_levels, co2_command_share


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
