"""RegD-like regulation signal: range, 5-s holds, determinism, energy neutrality."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.signals.regulation import regulation_signal_pu

START = dt.datetime(2024, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_range_hold_and_determinism() -> None:
    s = regulation_signal_pu(START, 1.0, 7200, seed=3)
    assert s.shape == (7200,)
    assert s.min() >= -1.0 and s.max() <= 1.0
    # New value only every 5 s: each sample equals the one at the last multiple of 5 s.
    k = np.arange(7200)
    np.testing.assert_array_equal(s, s[k - k % 5])
    assert np.count_nonzero(np.diff(s)) > 1000  # it really moves
    np.testing.assert_array_equal(s, regulation_signal_pu(START, 1.0, 7200, seed=3))
    assert not np.array_equal(s, regulation_signal_pu(START, 1.0, 7200, seed=4))


def test_sampled_at_coarser_step_picks_the_held_values() -> None:
    fine = regulation_signal_pu(START, 1.0, 600, seed=8)
    coarse = regulation_signal_pu(START, 10.0, 60, seed=8)
    np.testing.assert_array_equal(coarse, fine[::10])


def test_energy_neutral_ish_and_spread() -> None:
    s = regulation_signal_pu(START, 5.0, 12 * 720, seed=1)  # 12 hours
    assert s.std() == pytest.approx(0.4, abs=0.03)
    hourly_mean = s.reshape(12, 720).mean(axis=1)
    assert np.all(np.abs(hourly_mean) < 0.05)
