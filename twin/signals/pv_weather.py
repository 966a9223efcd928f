"""Day-to-day weather for PV: a daily clearness factor instead of a clear sky every day.

Each day is clear, cloudy or overcast (a Markov chain: the day repeats yesterday's state with
probability `persistence`, else draws from the month's climate shares), and PV output is

    pv_kw(t) = rating x performance_ratio x clearness(state of the day) x clear_sky_pu(t)

Clearness 0.95 / 0.55 / 0.20 of the clear-sky output. The monthly shares of clear / cloudy /
overcast days are a stand-in for the Sea-of-Japan climate of the Oki islands (cloudy winters,
clear late spring), not measured data; the seed gives the same weather in every case of a study.
"""

from __future__ import annotations

import numpy as np

CLEARNESS = np.array([0.95, 0.55, 0.20])
"""Daily PV as a share of clear-sky output: clear, cloudy, overcast."""

# Shares of clear / cloudy / overcast days by month (Jan..Dec); our assumption.
MONTH_SHARES = np.array(
    [
        (0.10, 0.40, 0.50),
        (0.15, 0.40, 0.45),
        (0.25, 0.40, 0.35),
        (0.35, 0.40, 0.25),
        (0.40, 0.38, 0.22),
        (0.25, 0.40, 0.35),
        (0.30, 0.40, 0.30),
        (0.40, 0.40, 0.20),
        (0.30, 0.40, 0.30),
        (0.35, 0.40, 0.25),
        (0.25, 0.40, 0.35),
        (0.12, 0.40, 0.48),
    ]
)


def daily_clearness(
    months: np.ndarray, rng: np.random.Generator, persistence: float = 0.5
) -> np.ndarray:
    """Clearness factor per day (one entry per day of `months`, 1..12)."""
    months = np.asarray(months, dtype=int)
    state = np.empty(months.size, dtype=int)
    u_stay, u_draw = rng.random(months.size), rng.random(months.size)
    for d, month in enumerate(months):
        cdf = np.cumsum(MONTH_SHARES[month - 1])
        fresh = int(np.searchsorted(cdf, u_draw[d] * cdf[-1], side="right"))
        state[d] = state[d - 1] if d > 0 and u_stay[d] < persistence else min(fresh, 2)
    return CLEARNESS[state]
