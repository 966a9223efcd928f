"""Effective droop of a fleet from measured frequency and power (Kashiwa EV project, seconds flexibility).

Definition (Kashiwa EV project): the droop R is the frequency deviation, as a share of nominal frequency, that
produces 100 % of rated output change:

    R = -(df / f_nom) / (dP_out / P_rated)            (x 100 -> percent)

Sign convention: `power_kw` is the fleet's consumption as everywhere in the project
(+ = charging, - = discharging), so the output is -power_kw and

    R = (df / f_nom) / (dP_kw / P_rated) = P_rated / (f_nom * b)

where b (kW/Hz) is the least-squares slope of the regression

    power_kw = a + b * x,    x = sign(df) * max(|df| - deadband, 0),   df = f - f_nom.

The intercept a is the fleet's power at nominal frequency (its baseline). A correct response
has b > 0 (less charging when frequency falls) and so R > 0; the Kashiwa EV project asks for R <= 5 %
(at 5 % on 50 Hz, -0.2 Hz -> -8 % of rating). A negative R means the fleet moved against the
grid; b = 0 gives R = inf. r2 is the coefficient of determination of the regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.metrics.errors import MetricInputError


@dataclass(frozen=True)
class DroopResult:
    """Effective droop of a measured response.

    Attributes:
        droop_percent: R in percent of nominal frequency per 100 % of rating.
        r2: Coefficient of determination of the linear fit (0..1).
        slope_kw_per_hz: Regression slope b, kW per Hz of deviation beyond the deadband.
        baseline_kw: Regression intercept a, kW (power at nominal frequency).
        n_outside_deadband: Samples whose deviation exceeds the deadband.
    """

    droop_percent: float
    r2: float
    slope_kw_per_hz: float
    baseline_kw: float
    n_outside_deadband: int


def deviation_beyond_deadband_hz(
    freq_hz: np.ndarray, f_nom_hz: float, deadband_hz: float
) -> np.ndarray:
    """Frequency deviation with the deadband removed: sign(df) * max(|df| - deadband, 0), Hz."""
    deviation_hz = np.asarray(freq_hz, dtype=float) - f_nom_hz
    return np.sign(deviation_hz) * np.maximum(np.abs(deviation_hz) - deadband_hz, 0.0)


def effective_droop(
    freq_hz: np.ndarray,
    power_kw: np.ndarray,
    rated_kw: float,
    f_nom_hz: float,
    deadband_hz: float = 0.0,
) -> DroopResult:
    """Estimate the droop a fleet actually delivered.

    Args:
        freq_hz: Grid frequency per sample, Hz.
        power_kw: Fleet consumption per sample, kW (+ charging, - discharging).
        rated_kw: Rated power the droop refers to, kW (e.g. the fleet's charger rating).
        f_nom_hz: Nominal frequency, Hz (50 or 60).
        deadband_hz: Deviation the controller ignores, Hz.

    Returns:
        DroopResult (droop in percent, r2, slope, baseline).

    Raises:
        MetricInputError: Length mismatch, non-finite values, non-positive rating or
            nominal frequency, or fewer than two distinct deviations beyond the deadband.
    """
    freq_hz = np.asarray(freq_hz, dtype=float).ravel()
    power_kw = np.asarray(power_kw, dtype=float).ravel()
    if freq_hz.size != power_kw.size:
        raise MetricInputError(
            f"freq_hz and power_kw differ in length ({freq_hz.size} vs {power_kw.size})"
        )
    if not (np.all(np.isfinite(freq_hz)) and np.all(np.isfinite(power_kw))):
        raise MetricInputError("freq_hz and power_kw must not contain NaN or infinite values")
    if rated_kw <= 0 or f_nom_hz <= 0 or deadband_hz < 0:
        raise MetricInputError(
            f"need rated_kw > 0, f_nom_hz > 0, deadband_hz >= 0 (got {rated_kw}, {f_nom_hz}, {deadband_hz})"
        )
    x_hz = deviation_beyond_deadband_hz(freq_hz, f_nom_hz, deadband_hz)
    outside = int(np.count_nonzero(x_hz))
    x_centred = x_hz - x_hz.mean()
    sxx = float(x_centred @ x_centred)
    if outside < 2 or sxx == 0.0:
        raise MetricInputError(
            "the frequency hardly left the deadband: a droop needs at least two different "
            "deviations beyond it (use a longer record or a smaller deadband)"
        )
    slope = float(x_centred @ (power_kw - power_kw.mean())) / sxx
    intercept = float(power_kw.mean() - slope * x_hz.mean())
    residual = power_kw - (intercept + slope * x_hz)
    total = power_kw - power_kw.mean()
    sst = float(total @ total)
    r2 = 1.0 - float(residual @ residual) / sst if sst > 0 else 0.0
    droop = rated_kw / (f_nom_hz * slope) * 100.0 if slope != 0.0 else float("inf")
    return DroopResult(
        droop_percent=droop,
        r2=r2,
        slope_kw_per_hz=slope,
        baseline_kw=intercept,
        n_outside_deadband=outside,
    )
