"""Multi-hour flexibility against the uncontrolled baseline (Kashiwa EV project).

For a window [a, b) of the local clock (push-up 10:00-14:00, push-down 16:00-20:00):
    push_up_kwh_per_ev_day   = sum_{steps in up window}   (P_ctrl - P_base) * dt_h / (n_ev * days)
    push_down_kwh_per_ev_day = sum_{steps in down window} (P_base - P_ctrl) * dt_h / (n_ev * days)
P is the fleet's grid power (+ import), the baseline is the same fleet, same trips, same seed,
charging uncontrolled (plug in and charge). `days` = simulated duration / 24 h.
"""

from __future__ import annotations

import numpy as np


def window_mask(second_of_day: np.ndarray, start_s: int, end_s: int) -> np.ndarray:
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
    shift_kwh = direction * float(np.sum((p_ctrl_kw - p_base_kw)[mask])) * dt_s / 3600.0
    return shift_kwh / (n_ev * days)


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
