"""Time-of-use tariffs sampled on the simulation clock."""

from __future__ import annotations

import datetime as dt

import numpy as np

from twin.signals.timebase import local_clock


def tou_price_series(
    periods: list[tuple[int, float]], start: dt.datetime, step_s: int, n_steps: int
) -> np.ndarray:
    """Price per kWh at each step start.

    Args:
        periods: (start second of day, price per kWh); each runs until the next, wrapping at midnight.
        start: aware datetime of step 0 (local time of the tariff).
        step_s: step length, s.
        n_steps: number of steps.
    """
    ordered = sorted(periods)
    starts = np.array([s for s, _ in ordered], dtype=float)
    prices = np.array([p for _, p in ordered], dtype=float)
    second_of_day = local_clock(start, step_s, n_steps).second_of_day  # DST-aware
    # Before the first listed start, the last period of the previous day still applies.
    index = np.searchsorted(starts, second_of_day, side="right") - 1
    return prices[index]  # index -1 wraps to the last period, as intended
