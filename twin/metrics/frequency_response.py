"""Under-frequency response of a fleet (Kashiwa EV project, seconds flexibility).

the Kashiwa EV project: when the frequency falls below 49.8 Hz the EMS must deliver >= 90 % of its available
power within 10 s and sustain it for >= 5 min.

Definitions used here (samples hold their value until the next sample, like simulation steps):

* event start t_event: time of the first sample below `threshold_hz` whose predecessor was
  at or above it (the record must start at or above the threshold, so a baseline exists);
* baseline P_0: consumption of the sample just before the event (or the mean over the
  `baseline_window_s` before it);
* response(t) = P_0 - power(t), kW: charging reduced plus discharge added
  (power is consumption, + = charging, - = discharging);
* target = share x available_kw;
* t_to_90 = t_reach - t_event, with t_reach the first sample at/after the event whose
  response >= target (None if never reached);
* held = time from t_reach until the first later sample whose response falls below the
  target; if it never does, until the end of the record (last sample time + last step);
* event_duration = time the frequency stayed below the threshold after t_event (same rule);
* passed = t_to_90 <= required_within_s and held >= required_hold_s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.metrics.errors import MetricInputError

_TOLERANCE_KW = 1e-9


@dataclass(frozen=True)
class UnderFrequencyResponse:
    """Measured response to the first under-frequency event of a record.

    Attributes:
        t_event_s: Time of the first sample below the threshold, s.
        baseline_kw: Consumption just before the event, kW.
        target_kw: share x available power, kW.
        t_to_90_s: Time from the event to the first sample with response >= target, s
            (named after the default share of 0.9); None if never reached.
        held_s: How long the response stayed >= target from then on, s (0 if never reached).
        max_response_kw: Largest response (baseline - power) from the event on, kW.
        event_duration_s: How long the frequency stayed below the threshold, s.
        passed: Reached within the required time and held for the required duration.
    """

    t_event_s: float
    baseline_kw: float
    target_kw: float
    t_to_90_s: float | None
    held_s: float
    max_response_kw: float
    event_duration_s: float
    passed: bool


def _end_of_record_s(time_s: np.ndarray) -> float:
    last_step_s = float(time_s[-1] - time_s[-2]) if time_s.size > 1 else 0.0
    return float(time_s[-1]) + last_step_s


def _run_length_s(time_s: np.ndarray, condition: np.ndarray, first: int) -> float:
    """Time from sample `first` until the first later sample where `condition` is False."""
    breaks = np.flatnonzero(~condition[first:])
    end_s = float(time_s[first + breaks[0]]) if breaks.size else _end_of_record_s(time_s)
    return end_s - float(time_s[first])


def under_frequency_response(
    time_s: np.ndarray,
    freq_hz: np.ndarray,
    power_kw: np.ndarray,
    available_kw: float,
    threshold_hz: float = 49.8,
    share: float = 0.9,
    baseline_window_s: float = 0.0,
    required_within_s: float = 10.0,
    required_hold_s: float = 300.0,
) -> UnderFrequencyResponse | None:
    """Measure how fast and how long a fleet answered the first under-frequency event.

    Args:
        time_s: Sample times, s, strictly increasing.
        freq_hz: Grid frequency per sample, Hz.
        power_kw: Fleet consumption per sample, kW (+ charging, - discharging).
        available_kw: Power the fleet could free at the event (charging it could stop plus
            discharge it could add), kW.
        threshold_hz: Under-frequency trigger, Hz.
        share: Share of the available power that must be delivered.
        baseline_window_s: 0 -> baseline = the sample just before the event; otherwise the
            mean over the samples in [t_event - window, t_event).
        required_within_s: Deadline for reaching the target, s.
        required_hold_s: Minimum time the target must be held, s.

    Returns:
        The measured response, or None if the frequency never crossed below the threshold.

    Raises:
        MetricInputError: Length mismatch, non-increasing time, non-finite values,
            available_kw <= 0, share outside (0, 1], or a record that starts below the
            threshold (no baseline).
    """
    time_s = np.asarray(time_s, dtype=float).ravel()
    freq_hz = np.asarray(freq_hz, dtype=float).ravel()
    power_kw = np.asarray(power_kw, dtype=float).ravel()
    if not (time_s.size == freq_hz.size == power_kw.size):
        raise MetricInputError(
            f"time_s, freq_hz and power_kw differ in length ({time_s.size}, {freq_hz.size}, {power_kw.size})"
        )
    if not all(np.all(np.isfinite(a)) for a in (time_s, freq_hz, power_kw)):
        raise MetricInputError(
            "time_s, freq_hz and power_kw must not contain NaN or infinite values"
        )
    if time_s.size > 1 and np.any(np.diff(time_s) <= 0):
        raise MetricInputError("time_s must be strictly increasing")
    if available_kw <= 0:
        raise MetricInputError(f"available_kw must be positive, got {available_kw}")
    if not 0 < share <= 1:
        raise MetricInputError(f"share must be in (0, 1], got {share}")

    below = freq_hz < threshold_hz
    if not np.any(below):
        return None
    if below[0]:
        raise MetricInputError(
            f"the record starts below {threshold_hz} Hz, so there is no baseline before the "
            "event; start the record earlier"
        )
    event = int(np.argmax(below))
    t_event_s = float(time_s[event])
    if baseline_window_s > 0:
        before = (time_s >= t_event_s - baseline_window_s) & (time_s < t_event_s)
        baseline_kw = float(power_kw[before].mean())
    else:
        baseline_kw = float(power_kw[event - 1])

    response_kw = baseline_kw - power_kw[event:]
    target_kw = share * available_kw
    meets = np.concatenate((np.zeros(event, dtype=bool), response_kw >= target_kw - _TOLERANCE_KW))
    event_duration_s = _run_length_s(time_s, below, event)
    if np.any(meets):
        reach = int(np.argmax(meets))
        t_to_90_s: float | None = float(time_s[reach]) - t_event_s
        held_s = _run_length_s(time_s, meets, reach)
    else:
        t_to_90_s = None
        held_s = 0.0
    passed = t_to_90_s is not None and t_to_90_s <= required_within_s and held_s >= required_hold_s
    return UnderFrequencyResponse(
        t_event_s=t_event_s,
        baseline_kw=baseline_kw,
        target_kw=target_kw,
        t_to_90_s=t_to_90_s,
        held_s=held_s,
        max_response_kw=float(response_kw.max()),
        event_duration_s=event_duration_s,
        passed=bool(passed),
    )
