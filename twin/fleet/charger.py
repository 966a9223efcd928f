"""Simulated charger response: a first-order lag towards the set-point, solved exactly per step.

A charger (with its EV) does not jump to a new set-point: measured responses of AC chargers are
roughly exponential with a 1-5 s time to settle. Modelling it as a first-order lag keeps 1-s studies
(frequency response) honest and costs nothing at 15-min steps, where it settles within the step.
"""

from __future__ import annotations

import numpy as np


def lagged_power(
    p_start_kw: np.ndarray,
    p_set_kw: np.ndarray,
    response_time_s: np.ndarray,
    dt_s: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Power after one step and its average over the step, for a constant set-point.

    With tau = response_time_s / 3 (95 % settled after response_time_s):
    p(t) = p_set + (p0 - p_set) * exp(-t / tau), whose mean over [0, dt] is
    p_set + (p0 - p_set) * tau / dt * (1 - exp(-dt / tau)).

    Returns:
        (p_end_kw, p_avg_kw), arrays like the inputs.
    """
    tau = np.asarray(response_time_s, dtype=float) / 3.0
    instant = tau <= 0.0
    safe_tau = np.where(instant, 1.0, tau)
    decay = np.where(instant, 0.0, np.exp(-dt_s / safe_tau))
    mean_factor = np.where(instant, 0.0, safe_tau / dt_s * (1.0 - decay))
    gap = p_start_kw - p_set_kw
    return p_set_kw + gap * decay, p_set_kw + gap * mean_factor


def lag_margin_s(response_time_s: np.ndarray | float) -> np.ndarray | float:
    """Time kept in reserve before departure for the charger's lag, s.

    Each ramp-up of dp loses dp * tau of energy (tau = response/3). 60 s + 3 x response time
    covers well over a hundred full ramps, at the cost of about a minute of flexibility.
    """
    return 60.0 + 3.0 * np.asarray(response_time_s, dtype=float)


def setpoint_for_average(
    p_avg_kw: np.ndarray,
    p_start_kw: np.ndarray,
    response_time_s: np.ndarray,
    dt_s: float,
    mean_factor: np.ndarray | None = None,
) -> np.ndarray:
    """Set-point whose lagged response averages `p_avg_kw` over the step (inverse of lagged_power).

    The EMS allocates *energy* per step; sending that average as the set-point would lose
    (p_set - p0) * tau per ramp, enough at 1-s steps to break a floor or a departure promise.
    """
    f = lag_mean_factor(response_time_s, dt_s) if mean_factor is None else mean_factor
    return (p_avg_kw - p_start_kw * f) / (1.0 - f)


def lag_mean_factor(response_time_s: np.ndarray, dt_s: float) -> np.ndarray:
    """tau / dt * (1 - exp(-dt / tau)): the share of the start power still in a step's average."""
    tau = np.asarray(response_time_s, dtype=float) / 3.0
    safe_tau = np.where(tau > 0, tau, 1.0)
    return np.where(tau > 0, safe_tau / dt_s * (1.0 - np.exp(-dt_s / safe_tau)), 0.0)
