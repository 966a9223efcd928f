"""Multi-hour flexibility against the uncontrolled baseline (Kashiwa EV project).

For a window [a, b) of the local clock (push-up 10:00-14:00, push-down 16:00-20:00):
    push_up_kwh_per_ev_day   = sum_{steps in up window}   (P_ctrl - P_base) * dt_h / (n_ev * days)
    push_down_kwh_per_ev_day = sum_{steps in down window} (P_base - P_ctrl) * dt_h / (n_ev * days)
P is the fleet's grid power (+ import), the baseline is the same fleet, same trips, same seed,
charging uncontrolled (plug in and charge). `days` = simulated duration / 24 h.
"""

from __future__ import annotations

from typing import overload

import numpy as np


@overload
def window_mask(second_of_day: int, start_s: int, end_s: int) -> bool: ...
@overload
def window_mask(second_of_day: np.ndarray, start_s: int, end_s: int) -> np.ndarray: ...
def window_mask(second_of_day, start_s, end_s):
    """In the window [start_s, end_s) of the local day (wraps at midnight); one step or many."""
    if start_s <= end_s:
        return (second_of_day >= start_s) & (second_of_day < end_s)
    return (second_of_day >= start_s) | (second_of_day < end_s)


def window_shift_kwh_per_ev_day(
    p_ctrl_kw: np.ndarray,
    p_base_kw: np.ndarray,
    second_of_day: np.ndarray,
    window: tuple[int, int],
    dt_s: float,
    n_ev: int,
    direction: int,
) -> float:
    """Energy shifted in a clock window per EV per day; direction +1 = push-up, -1 = push-down."""
    if n_ev == 0:
        return 0.0  # no EVs shift nothing (a 0 % adoption case)
    mask = window_mask(second_of_day, *window)
    days = len(p_ctrl_kw) * dt_s / 86400.0
    shift_kwh = shifted_kwh(float(np.sum((p_ctrl_kw - p_base_kw)[mask])), dt_s, direction)
    return shift_kwh / (n_ev * days)


def shifted_kwh(diff_kw: float, dt_s: float, direction: int) -> float:
    """Energy shifted by (P_ctrl - P_base) = `diff_kw` held for `dt_s`, kWh; direction as above."""
    return direction * diff_kw * dt_s / 3600.0


class WindowShiftSoFar:
    """The running form of `window_shift_kwh_per_ev_day`, one step at a time (a live run's "KPIs
    so far"): the same window rule, sign and units, per EV but not yet per day.

    Args:
        window: (start, end) seconds of the local day, as for `window_mask`.
        dt_s: Step length, s.
        n_ev: EVs of the fleet(s) measured.
        direction: +1 = push-up, -1 = push-down.
    """

    def __init__(self, window: tuple[int, int], dt_s: float, n_ev: int, direction: int):
        self.window = window
        self.dt_s = dt_s
        self.n_ev = n_ev
        self.direction = direction
        self.kwh = 0.0
        """Energy shifted so far, kWh."""

    def add(self, p_ctrl_kw: float, p_base_kw: float, second_of_day: int) -> None:
        """Account one step (its local second of day and both fleet powers, kW)."""
        if window_mask(second_of_day, *self.window):
            self.kwh += shifted_kwh(p_ctrl_kw - p_base_kw, self.dt_s, self.direction)

    @property
    def kwh_per_ev(self) -> float:
        return self.kwh / self.n_ev if self.n_ev else 0.0


def window_shift_mw_by_day(
    p_ctrl_kw: np.ndarray,
    p_base_kw: np.ndarray,
    second_of_day: np.ndarray,
    day_index: np.ndarray,
    window: tuple[int, int],
    direction: int,
) -> np.ndarray:
    """Mean power shifted in the window, one value per local day that has window steps, MW.

    direction +1 = push-up (P_ctrl - P_base), -1 = push-down (P_base - P_ctrl). An aggregator
    bids MW for a window, so the city question (Kashiwa EV project: 9 MW up, 4 MW down) is asked in these units.
    """
    mask = window_mask(second_of_day, *window)
    if not mask.any():
        return np.zeros(0)
    diff_mw = direction * (p_ctrl_kw - p_base_kw)[mask] / 1000.0
    days, inverse = np.unique(day_index[mask], return_inverse=True)
    return np.bincount(inverse, weights=diff_mw) / np.bincount(inverse)


def firm_mw(daily_mw: np.ndarray, share_of_days: float = 0.9) -> float:
    """What the fleet delivers on at least `share_of_days` of the days (a low quantile), MW."""
    return float(np.quantile(daily_mw, 1.0 - share_of_days)) if len(daily_mw) else float("nan")
