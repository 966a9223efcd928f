"""local_clock (pure numpy, zone transitions by bisection) against pandas' tz_convert, the
independent reference: every value equal, across zones with DST, half-hour DST, a skipped day
and odd steps, starting on transition days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from twin.signals.timebase import local_clock, offsets_s


def _pandas_clock(start: dt.datetime, step_s: float, n: int) -> tuple[np.ndarray, ...]:
    epoch_s = start.timestamp() + offsets_s(step_s, n)
    utc = pd.to_datetime(np.round(epoch_s * 1e6).astype("int64"), unit="us", utc=True)
    local = utc.tz_convert(start.tzinfo)
    wall_s = local.tz_localize(None).asi8.astype(float) / 1e9
    return (
        np.mod(wall_s, 86400.0),
        np.asarray(local.dayofyear, dtype=float),
        np.asarray(local.weekday, dtype=int),
        wall_s,
    )


STARTS = [
    dt.datetime(2025, 3, 30, 0, 0, tzinfo=ZoneInfo("Europe/Berlin")),  # spring forward
    dt.datetime(2024, 10, 27, 0, 59, 59, 250_000, tzinfo=ZoneInfo("Europe/Berlin")),  # fall back
    dt.datetime(2025, 4, 6, 1, 0, tzinfo=ZoneInfo("Australia/Lord_Howe")),  # 30-min DST
    dt.datetime(2011, 12, 28, 0, 0, tzinfo=ZoneInfo("Pacific/Apia")),  # 30 Dec 2011 skipped
    dt.datetime(2025, 11, 2, 0, 30, tzinfo=ZoneInfo("America/St_Johns")),  # -03:30 / -02:30
    dt.datetime(1901, 1, 1, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
    dt.datetime(2199, 12, 31, 23, 0, tzinfo=ZoneInfo("America/New_York")),
    dt.datetime(2025, 6, 4, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))),  # fixed offset
]


@pytest.mark.parametrize("start", STARTS, ids=lambda s: f"{s.tzinfo}-{s:%Y%m%d}")
@pytest.mark.parametrize("step_s,n", [(1.0, 20_000), (7.3, 30_000), (900.0, 35_040)])
def test_local_clock_equals_pandas(start: dt.datetime, step_s: float, n: int) -> None:
    clock = local_clock(start, step_s, n)
    ours = (clock.second_of_day, clock.day_of_year, clock.weekday, clock.wall_s)
    for name, a, b in zip(
        ("second_of_day", "day_of_year", "weekday", "wall_s"),
        ours,
        _pandas_clock(start, step_s, n),
        strict=True,
    ):
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_empty_clock() -> None:
    clock = local_clock(STARTS[0], 60.0, 0)
    assert clock.wall_s.size == 0 and clock.weekday.size == 0
