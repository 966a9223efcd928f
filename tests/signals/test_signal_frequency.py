"""Grid frequency: determinism, noise statistics and scripted events at the right indices."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.signals.errors import SignalConfigError
from twin.signals.frequency import grid_frequency_hz

START = dt.datetime(2024, 6, 1, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_same_seed_same_array_and_shape() -> None:
    a = grid_frequency_hz(START, 1.0, 3600, seed=4)
    b = grid_frequency_hz(START, 1.0, 3600, seed=4)
    c = grid_frequency_hz(START, 1.0, 3600, seed=5)
    assert a.shape == (3600,) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_noise_std_and_correlation_time() -> None:
    f = grid_frequency_hz(
        START, 1.0, 400_000, seed=1, nominal_hz=60.0, noise_std_hz=0.025, correlation_time_s=20.0
    )
    x = f - 60.0
    assert abs(x.mean()) < 0.003
    assert x.std() == pytest.approx(0.025, rel=0.05)
    # OU autocorrelation at lag 20 s is exp(-1).
    assert np.corrcoef(x[:-20], x[20:])[0, 1] == pytest.approx(np.exp(-1.0), abs=0.03)


def test_hold_event_appears_at_ceil_index() -> None:
    f = grid_frequency_hz(
        START,
        7.0,
        100,
        seed=2,
        events=[{"at": 100, "kind": "hold", "to_hz": 49.75, "duration": 60}],
    )
    # Steps at 0, 7, 14, ... s: first inside [100, 160) is 105 s (index 15), last is 154 s (index 22).
    held = np.flatnonzero(f == 49.75)
    np.testing.assert_array_equal(held, np.arange(15, 23))


def test_ramp_event_by_hand() -> None:
    f = grid_frequency_hz(
        START,
        1.0,
        600,
        seed=0,
        noise_std_hz=0.0,
        events=[{"at": 100, "kind": "ramp", "to_hz": 49.7, "ramp_s": 10, "duration": "5min"}],
    )
    assert f[99] == 50.0
    assert f[100] == 50.0  # ramp starts at the level before the event
    assert f[105] == pytest.approx(49.85)
    np.testing.assert_allclose(f[110:410], 49.7)
    assert f[415] == pytest.approx(49.85)  # ramps back over 10 s after 110 + 300 s
    assert f[420] == 50.0


def test_step_event_until_end_and_iso_time() -> None:
    f = grid_frequency_hz(
        START,
        60.0,
        120,
        seed=0,
        noise_std_hz=0.0,
        events=[{"at": "2024-06-01T01:00:00+09:00", "kind": "step", "to_hz": 49.9}],
    )
    assert f[59] == 50.0
    np.testing.assert_array_equal(f[60:], 49.9)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"at": 10, "kind": "jump", "to_hz": 49.5}, "events[0].kind"),
        ({"at": 10, "kind": "step", "to_hz": 49800}, "events[0].to_hz"),
        ({"at": 10, "kind": "ramp", "to_hz": 49.5}, "events[0]"),
        ({"at": 10, "kind": "step", "to_hz": 49.5, "speed": 1}, "events[0]"),
    ],
)
def test_bad_events_name_the_field(event: dict, field: str) -> None:
    with pytest.raises(SignalConfigError) as info:
        grid_frequency_hz(START, 1.0, 10, seed=0, events=[event])
    assert info.value.field == field


def test_naive_start_is_rejected() -> None:
    with pytest.raises(SignalConfigError, match="time-zone-aware"):
        grid_frequency_hz(dt.datetime(2024, 6, 1), 1.0, 10, seed=0)
