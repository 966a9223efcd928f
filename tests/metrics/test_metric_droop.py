"""Effective droop recovered from synthetic fleets with a known droop."""

from __future__ import annotations

import numpy as np
import pytest

from twin.metrics.droop import effective_droop
from twin.metrics.errors import MetricInputError


def test_two_points_by_hand() -> None:
    # 100 kW rating, R = 5 % at 50 Hz: slope = 100 / (50 * 0.05) = 40 kW/Hz, so +-0.1 Hz -> +-4 kW.
    result = effective_droop(
        np.array([49.9, 50.1]), np.array([46.0, 54.0]), rated_kw=100.0, f_nom_hz=50.0
    )
    assert result.droop_percent == pytest.approx(5.0)
    assert result.slope_kw_per_hz == pytest.approx(40.0)
    assert result.baseline_kw == pytest.approx(50.0)
    assert result.r2 == pytest.approx(1.0)


@pytest.mark.parametrize("deadband_hz", [0.0, 0.02])
def test_noisy_fleet_with_four_percent_droop(deadband_hz: float) -> None:
    rng = np.random.default_rng(5)
    rated_kw, f_nom_hz, droop = 2000.0, 50.0, 0.04
    freq_hz = f_nom_hz + 0.03 * rng.standard_normal(5000)
    deviation = freq_hz - f_nom_hz
    beyond = np.sign(deviation) * np.maximum(np.abs(deviation) - deadband_hz, 0.0)
    # Consumption change = (df / f_nom) / R * P_rated.
    power_kw = 800.0 + beyond / f_nom_hz / droop * rated_kw + 5.0 * rng.standard_normal(5000)
    result = effective_droop(freq_hz, power_kw, rated_kw, f_nom_hz, deadband_hz=deadband_hz)
    assert result.droop_percent == pytest.approx(4.0, abs=0.1)
    assert result.baseline_kw == pytest.approx(800.0, abs=1.0)
    assert result.r2 > 0.9


def test_fleet_moving_against_the_grid_has_negative_droop() -> None:
    freq_hz = np.array([49.9, 50.0, 50.1])
    result = effective_droop(freq_hz, np.array([10.0, 5.0, 0.0]), rated_kw=10.0, f_nom_hz=50.0)
    # slope = -50 kW/Hz -> R = 10 / (50 * -50) * 100 = -0.4 %.
    assert result.droop_percent == pytest.approx(-0.4)


def test_no_response_gives_infinite_droop() -> None:
    result = effective_droop(
        np.array([49.9, 50.0, 50.1]), np.full(3, 7.0), rated_kw=10.0, f_nom_hz=50.0
    )
    assert result.droop_percent == float("inf")


def test_frequency_inside_deadband_raises() -> None:
    with pytest.raises(MetricInputError, match="deadband"):
        effective_droop(
            np.array([49.99, 50.01, 50.0]),
            np.ones(3),
            rated_kw=10.0,
            f_nom_hz=50.0,
            deadband_hz=0.02,
        )
