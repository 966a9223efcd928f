"""PJM performance score of a regulation-signal response (Toyota V2G demo, secondary reserve).

Formula (PJM Manual 12, as implemented by open-source scorers; all terms on 10-s samples):

* Resampling: signal S and response R are turned into exact 10-s averages of their
  zero-order-hold series (a value holds until the next sample), whatever the input step.
* Hours: consecutive blocks of 360 ten-second samples counted from the first sample (pass a
  series that starts on the hour if clock hours matter). A trailing partial block is scored if
  it holds at least 60 samples (one window plus the full delay search), otherwise dropped.
* Windows: 5-min windows of W = 30 samples. A window starting at sample t covers S[t:t+30].
  For every window the delay d is searched over 0..5 min in 10-s steps (31 values) and the
  response window R[t+d:t+d+30] must lie inside the same hour. So window starts slide in
  10-s steps over t = 0 .. n-60 (301 windows in a full hour): every window sees the full delay
  search and no hour borrows data from the next one (the last 5 min of an hour's signal are
  reached only by the lagged response windows and by the precision term). `window_step_s`
  can thin the windows (e.g. 300 s = non-overlapping starts).
* Correlation C(d) = Pearson r(S[t:t+30], R[t+d:t+d+30]).
* Delay score D(d) = |(d - 5 min) / 5 min|  (0 lag -> 1, 5-min lag -> 0).
* Per window d* = argmax_d (C(d) + D(d)) with the raw correlation (ties -> the shorter delay);
  then C(d*) is clipped to [0, 1]. The hour's correlation and delay scores are the means over
  its windows of C(d*) and D(d*).
* Precision P = 1 - mean(|R - S|) / mean(|S|) over the whole hour (no delay shift), clipped
  to [0, 1].
* Hourly score = (C + D + P) / 3; the overall score is the mean of the hourly scores;
  a resource passes with >= 0.75.

Edge cases (Pearson r is undefined on a flat series):

* Flat signal window (peak-to-peak <= `flat_tolerance`): it carries no timing information, so
  it is left out of that hour's correlation and delay means. An hour whose windows are all
  flat gets NaN correlation, delay and score and is left out of the overall mean (its
  precision is still reported); if no hour can be scored the overall score is NaN and the
  resource does not pass.
* Flat response window under a moving signal: C(d) = 0 (no co-movement). Because D(0) = 1, a
  response stuck at a constant scores C = 0, D = 1, P = 0 -> 1/3, as in open-source scorers.
* mean(|S|) = 0 over an hour: P = 1 if the response equals the signal exactly, else 0.

Both series must be on the same scale, normally per unit of the regulation capacity:
signal in [-1, 1] and response = (measured kW - basepoint kW) / capacity kW.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from twin.metrics.errors import MetricInputError

SCORE_SAMPLE_S = 10.0
WINDOW_SAMPLES = 30
MAX_DELAY_SAMPLES = 30
HOUR_SAMPLES = 360
PASS_SCORE = 0.75


@dataclass(frozen=True)
class PjmScore:
    """PJM performance score overall and per scored hour.

    Attributes:
        score: Mean of the hourly scores (NaN if no hour could be scored).
        correlation: Mean of the hourly correlation scores.
        delay: Mean of the hourly delay scores.
        precision: Mean of the hourly precision scores.
        passed: score >= 0.75.
        hour_start_s: Offset of each scored hour from the first sample, s.
        hourly_score: Score per hour.
        hourly_correlation: Correlation score per hour.
        hourly_delay: Delay score per hour.
        hourly_precision: Precision score per hour.
        hourly_mean_delay_s: Mean chosen delay d* per hour, s.
    """

    score: float
    correlation: float
    delay: float
    precision: float
    passed: bool
    hour_start_s: np.ndarray
    hourly_score: np.ndarray
    hourly_correlation: np.ndarray
    hourly_delay: np.ndarray
    hourly_precision: np.ndarray
    hourly_mean_delay_s: np.ndarray

    def summary(self) -> dict[str, float | bool | int | None]:
        """Plain numbers for summary.json (NaN becomes None)."""

        def plain(value: float) -> float | None:
            return None if np.isnan(value) else float(value)

        return {
            "pjm_score": plain(self.score),
            "pjm_correlation": plain(self.correlation),
            "pjm_delay": plain(self.delay),
            "pjm_precision": plain(self.precision),
            "pjm_passed": bool(self.passed),
            "pjm_hours_scored": int(np.count_nonzero(~np.isnan(self.hourly_score))),
        }


def resample_to_10s(values: np.ndarray, sample_s: float) -> np.ndarray:
    """Exact 10-s means of a zero-order-hold series sampled every `sample_s` seconds.

    Args:
        values: Samples; value i holds over [i * sample_s, (i + 1) * sample_s).
        sample_s: Input step, s (any positive value, e.g. 1, 2, 4, 5, 30).

    Returns:
        One value per complete 10-s interval of the covered time span.
    """
    values = np.asarray(values, dtype=float)
    if sample_s == SCORE_SAMPLE_S:
        return values.copy()
    edges_s = np.arange(values.size + 1) * sample_s
    integral = np.concatenate(([0.0], np.cumsum(values * sample_s)))
    n_out = int(np.floor(values.size * sample_s / SCORE_SAMPLE_S + 1e-9))
    # The integral of a step function is piecewise linear, so linear interpolation is exact.
    at_10s = np.interp(np.arange(n_out + 1) * SCORE_SAMPLE_S, edges_s, integral)
    return np.diff(at_10s) / SCORE_SAMPLE_S


def _centred_windows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    windows = sliding_window_view(values, WINDOW_SAMPLES)
    centred = windows - windows.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("kw,kw->k", centred, centred))
    spread = windows.max(axis=1) - windows.min(axis=1)
    return centred, norm, spread


def _score_hour(
    signal: np.ndarray, response: np.ndarray, window_step: int, flat_tolerance: float
) -> tuple[float, float, float, float]:
    """Correlation, delay, precision and mean delay (s) of one block of 10-s samples."""
    n = signal.size
    starts = np.arange(0, n - WINDOW_SAMPLES - MAX_DELAY_SAMPLES + 1, window_step)
    s_centred, s_norm, s_spread = _centred_windows(signal)
    r_centred, r_norm, r_spread = _centred_windows(response)
    delays = np.arange(MAX_DELAY_SAMPLES + 1)
    response_rows = starts[:, None] + delays[None, :]

    informative = s_spread[starts] > flat_tolerance
    moving_response = r_spread[response_rows] > flat_tolerance
    products = np.einsum("kw,kdw->kd", s_centred[starts], r_centred[response_rows])
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = products / (s_norm[starts, None] * r_norm[response_rows])
    correlation = np.where(moving_response, correlation, 0.0)
    delay_score = np.abs((delays - MAX_DELAY_SAMPLES) / MAX_DELAY_SAMPLES)

    if np.any(informative):
        total = correlation[informative] + delay_score[None, :]
        best = np.argmax(total, axis=1)
        rows = np.arange(best.size)
        corr_best = np.clip(correlation[informative][rows, best], 0.0, 1.0)
        corr_score = float(corr_best.mean())
        delay_mean = float(delay_score[best].mean())
        delay_s = float(best.mean() * SCORE_SAMPLE_S)
    else:
        corr_score = delay_mean = delay_s = float("nan")

    mean_abs_signal = float(np.mean(np.abs(signal)))
    mean_abs_error = float(np.mean(np.abs(response - signal)))
    if mean_abs_signal > 0.0:
        precision = 1.0 - mean_abs_error / mean_abs_signal
    else:
        precision = 1.0 if mean_abs_error == 0.0 else 0.0
    return corr_score, delay_mean, float(np.clip(precision, 0.0, 1.0)), delay_s


def pjm_performance_score(
    signal: np.ndarray,
    response: np.ndarray,
    sample_s: float,
    window_step_s: float = SCORE_SAMPLE_S,
    flat_tolerance: float = 1e-9,
) -> PjmScore:
    """Score how well `response` follows the regulation `signal` (PJM performance score).

    Args:
        signal: Regulation signal, normally in [-1, 1] (pu of regulation capacity).
        response: Resource response on the same scale as `signal`.
        sample_s: Sampling step of both series, s.
        window_step_s: Spacing of the 5-min window starts, s (multiple of 10 s).
        flat_tolerance: A window whose peak-to-peak range is at most this (signal units) is
            flat (Pearson r undefined).

    Returns:
        PjmScore with hourly components and their means.

    Raises:
        MetricInputError: Different lengths, non-finite values, bad steps, or less than
            10 min of data (one 5-min window plus the 5-min delay search).
    """
    signal = np.asarray(signal, dtype=float).ravel()
    response = np.asarray(response, dtype=float).ravel()
    if signal.size != response.size:
        raise MetricInputError(
            f"signal and response differ in length ({signal.size} vs {response.size} samples)"
        )
    if not (np.all(np.isfinite(signal)) and np.all(np.isfinite(response))):
        raise MetricInputError("signal and response must not contain NaN or infinite values")
    if not sample_s > 0:
        raise MetricInputError(f"sample_s must be positive, got {sample_s}")
    ratio = window_step_s / SCORE_SAMPLE_S
    if window_step_s <= 0 or abs(ratio - round(ratio)) > 1e-9:
        raise MetricInputError(
            f"window_step_s must be a positive multiple of 10 s, got {window_step_s}"
        )

    s10 = resample_to_10s(signal, sample_s)
    r10 = resample_to_10s(response, sample_s)
    min_samples = WINDOW_SAMPLES + MAX_DELAY_SAMPLES
    if s10.size < min_samples:
        raise MetricInputError(
            f"the PJM score needs at least 10 min of data, got {s10.size * SCORE_SAMPLE_S:.0f} s"
        )

    rows: list[tuple[float, float, float, float, float]] = []
    for first in range(0, s10.size, HOUR_SAMPLES):
        block = slice(first, min(first + HOUR_SAMPLES, s10.size))
        if block.stop - block.start < min_samples:
            break
        corr, delay, precision, delay_s = _score_hour(
            s10[block], r10[block], int(round(ratio)), flat_tolerance
        )
        rows.append((first * SCORE_SAMPLE_S, corr, delay, precision, delay_s))

    table = np.array(rows, dtype=float)
    hour_start_s, corr, delay, precision, delay_s = table.T
    hourly_score = (corr + delay + precision) / 3.0
    scored = ~np.isnan(hourly_score)

    def mean_of_scored(values: np.ndarray) -> float:
        return float(values[scored].mean()) if np.any(scored) else float("nan")

    score = mean_of_scored(hourly_score)
    return PjmScore(
        score=score,
        correlation=mean_of_scored(corr),
        delay=mean_of_scored(delay),
        precision=mean_of_scored(precision),
        passed=bool(score >= PASS_SCORE) if not np.isnan(score) else False,
        hour_start_s=hour_start_s,
        hourly_score=hourly_score,
        hourly_correlation=corr,
        hourly_delay=delay,
        hourly_precision=precision,
        hourly_mean_delay_s=delay_s,
    )
