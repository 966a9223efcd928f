"""Under-frequency response on synthetic ramps with hand-computed timings."""

from __future__ import annotations

import numpy as np
import pytest

from twin.metrics.errors import MetricInputError
from twin.metrics.frequency_response import under_frequency_response


def _ramp_case(recover_at_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    time_s = np.arange(600.0)
    freq_hz = np.where((time_s >= 100) & (time_s < 500), 49.7, 50.0)
    # 100 kW charging, from t = 100 s ramps down 20 kW/s to -50 kW (discharge), back at recover_at_s.
    power_kw = np.clip(100.0 - 20.0 * np.maximum(time_s - 100.0, 0.0), -50.0, None)
    power_kw[time_s >= recover_at_s] = 100.0
    return time_s, freq_hz, power_kw


def test_ramp_timing_by_hand() -> None:
    time_s, freq_hz, power_kw = _ramp_case(recover_at_s=400.0)
    result = under_frequency_response(time_s, freq_hz, power_kw, available_kw=150.0)
    assert result is not None
    assert result.t_event_s == 100.0
    assert result.baseline_kw == 100.0
    assert result.target_kw == pytest.approx(135.0)
    # Response 100 - P >= 135 needs P <= -35: t=106 -> -20 kW, t=107 -> -40 kW.
    assert result.t_to_90_s == 7.0
    assert result.held_s == 400.0 - 107.0  # drops at t = 400 s
    assert result.max_response_kw == 150.0
    assert result.event_duration_s == 400.0  # below from 100 s until the 500 s sample
    assert not result.passed  # held 293 s < 300 s


def test_held_to_end_of_record_passes() -> None:
    time_s, freq_hz, power_kw = _ramp_case(recover_at_s=1e9)
    result = under_frequency_response(time_s, freq_hz, power_kw, available_kw=150.0)
    assert result is not None
    assert result.held_s == 600.0 - 107.0  # last sample 599 s + its 1 s step
    assert result.passed


def test_slow_fleet_fails_deadline() -> None:
    time_s, freq_hz, power_kw = _ramp_case(recover_at_s=1e9)
    result = under_frequency_response(
        time_s, freq_hz, power_kw, available_kw=150.0, required_within_s=5.0
    )
    assert result is not None and result.t_to_90_s == 7.0 and not result.passed


def test_never_reaching_target() -> None:
    time_s, freq_hz, power_kw = _ramp_case(recover_at_s=1e9)
    result = under_frequency_response(time_s, freq_hz, power_kw, available_kw=500.0)
    assert result is not None
    assert result.t_to_90_s is None and result.held_s == 0.0 and not result.passed


def test_no_event_returns_none_and_bad_start_raises() -> None:
    time_s = np.arange(10.0)
    assert (
        under_frequency_response(time_s, np.full(10, 50.0), np.zeros(10), available_kw=1.0) is None
    )
    with pytest.raises(MetricInputError, match="starts below"):
        under_frequency_response(time_s, np.full(10, 49.7), np.zeros(10), available_kw=1.0)
