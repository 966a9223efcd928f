"""Grid frequency: nominal + Ornstein-Uhlenbeck noise + scripted events (Kashiwa EV project).

f(t) = level(t) + n(t), where

* n(t) is stationary Ornstein-Uhlenbeck noise with standard deviation `noise_std_hz`
  (0.02-0.03 Hz is typical of the Japanese 50/60 Hz systems in normal operation) and
  correlation time `correlation_time_s` (tens of seconds), discretised exactly:
  n[k+1] = a n[k] + std sqrt(1 - a^2) xi[k], a = exp(-step_s / tau);
* level(t) = nominal_hz, changed by scripted events applied in list order (a later event
  overrides an earlier one where they overlap). Each event is
  {at, kind, to_hz, duration, ramp_s}, `at` in seconds from start, a duration string or an
  ISO-8601 time; `duration` in seconds or a duration string, omitted = to the end:

  - step: level = to_hz over [at, at + duration), then back to the level before;
  - ramp: level moves linearly from the level before to to_hz over [at, at + ramp_s),
    stays over [at + ramp_s, at + ramp_s + duration), then ramps back over ramp_s;
  - hold: f = to_hz exactly (noise off) over [at, at + duration), for deterministic tests.

A step k (time offset k * step_s) is inside an interval [a, b) if a <= k * step_s < b, so an
event at `at` first shows at index ceil(at / step_s).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.config.durations import parse_duration_s
from twin.signals.errors import SignalConfigError
from twin.signals.timebase import (
    check_timebase,
    offsets_s,
    ornstein_uhlenbeck,
    seconds_from_start,
    stream_rng,
)

EVENT_KINDS = ("step", "ramp", "hold")
_EVENT_KEYS = {"at", "kind", "to_hz", "duration", "duration_s", "ramp_s"}
_PLAUSIBLE_HZ = (40.0, 70.0)
# Half-open intervals are tested on float offsets; this absorbs round-off of k * step_s.
_TIME_EPS_S = 1e-9


@dataclass(frozen=True)
class FrequencyEvent:
    """One scripted frequency event (times in seconds from the signal start).

    Attributes:
        at_s: When the event begins, s.
        kind: "step", "ramp" or "hold".
        to_hz: Frequency the event goes to, Hz.
        duration_s: Time spent at to_hz, s (None = to the end of the signal).
        ramp_s: Ramp time for "ramp" events, s.
    """

    at_s: float
    kind: str
    to_hz: float
    duration_s: float | None = None
    ramp_s: float = 0.0


def _seconds(value: Any, field: str) -> float:
    try:
        return float(parse_duration_s(value))
    except ValueError as err:
        raise SignalConfigError(field, str(err)) from None


def parse_frequency_events(
    config: Sequence[Mapping[str, Any] | FrequencyEvent], start: dt.datetime, field: str = "events"
) -> list[FrequencyEvent]:
    """Turn scenario event mappings into FrequencyEvent objects, checking every key.

    Raises:
        SignalConfigError: Unknown key, unknown kind, missing to_hz/at, implausible frequency,
            or a ramp without ramp_s.
    """
    events: list[FrequencyEvent] = []
    for i, raw in enumerate(config):
        where = f"{field}[{i}]"
        if isinstance(raw, FrequencyEvent):
            events.append(raw)
            continue
        if not isinstance(raw, Mapping):
            raise SignalConfigError(
                where, "each event must be a mapping such as {at: 600, kind: step, to_hz: 49.7}"
            )
        unknown = set(raw) - _EVENT_KEYS
        if unknown:
            raise SignalConfigError(
                where, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_EVENT_KEYS)}"
            )
        kind = raw.get("kind", "step")
        if kind not in EVENT_KINDS:
            raise SignalConfigError(f"{where}.kind", f"'{kind}' is not one of {list(EVENT_KINDS)}")
        if "at" not in raw or "to_hz" not in raw:
            raise SignalConfigError(where, "needs 'at' and 'to_hz'")
        try:
            to_hz = float(raw["to_hz"])
        except (TypeError, ValueError):
            raise SignalConfigError(
                f"{where}.to_hz", f"expected a number, got {raw['to_hz']!r}"
            ) from None
        if not _PLAUSIBLE_HZ[0] <= to_hz <= _PLAUSIBLE_HZ[1]:
            raise SignalConfigError(
                f"{where}.to_hz", f"{to_hz} Hz is not a grid frequency (expected 40-70 Hz)"
            )
        duration_raw = raw.get("duration_s", raw.get("duration"))
        duration_s = None if duration_raw is None else _seconds(duration_raw, f"{where}.duration")
        ramp_s = 0.0
        if kind == "ramp":
            if "ramp_s" not in raw:
                raise SignalConfigError(where, "a ramp event needs ramp_s (seconds to reach to_hz)")
            ramp_s = _seconds(raw["ramp_s"], f"{where}.ramp_s")
        events.append(
            FrequencyEvent(
                at_s=seconds_from_start(start, raw["at"], f"{where}.at"),
                kind=kind,
                to_hz=to_hz,
                duration_s=duration_s,
                ramp_s=ramp_s,
            )
        )
    return events


def _apply_event(
    level_hz: np.ndarray, quiet: np.ndarray, t_s: np.ndarray, event: FrequencyEvent
) -> None:
    """Write one event into the level profile (and the noise-off mask for holds)."""
    end_at = float("inf") if event.duration_s is None else event.duration_s
    if event.kind in ("step", "hold"):
        active = (t_s >= event.at_s - _TIME_EPS_S) & (t_s < event.at_s + end_at - _TIME_EPS_S)
        level_hz[active] = event.to_hz
        if event.kind == "hold":
            quiet[active] = True
        return
    # Ramp: the level just before the event is where the ramp starts and returns to.
    before = np.flatnonzero(t_s < event.at_s - _TIME_EPS_S)
    if before.size:
        from_hz = float(level_hz[before[-1]])
    elif level_hz.size:
        from_hz = float(
            level_hz[0]
        )  # the event began before the signal: start from its first value
    else:
        return
    rise_end = event.at_s + event.ramp_s
    hold_end = rise_end + end_at
    fall_end = hold_end + event.ramp_s
    rising = (t_s >= event.at_s - _TIME_EPS_S) & (t_s < rise_end - _TIME_EPS_S)
    holding = (t_s >= rise_end - _TIME_EPS_S) & (t_s < hold_end - _TIME_EPS_S)
    falling = (t_s >= hold_end - _TIME_EPS_S) & (t_s < fall_end - _TIME_EPS_S)
    level_hz[rising] = from_hz + (event.to_hz - from_hz) * (t_s[rising] - event.at_s) / event.ramp_s
    level_hz[holding] = event.to_hz
    level_hz[falling] = (
        event.to_hz + (from_hz - event.to_hz) * (t_s[falling] - hold_end) / event.ramp_s
    )


def grid_frequency_hz(
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    seed: int,
    nominal_hz: float = 50.0,
    noise_std_hz: float = 0.02,
    correlation_time_s: float = 30.0,
    events: Sequence[Mapping[str, Any] | FrequencyEvent] = (),
) -> np.ndarray:
    """Grid frequency per step, Hz.

    Args:
        start: Time of step 0 (tz-aware).
        step_s: Step length, s.
        n_steps: Number of steps.
        seed: Random seed (same seed -> same array).
        nominal_hz: 50 (eastern Japan) or 60 (western Japan).
        noise_std_hz: Standard deviation of the noise, Hz (0 = no noise).
        correlation_time_s: Correlation time of the noise, s.
        events: Scripted events (mappings as in the module doc, or FrequencyEvent).

    Returns:
        Frequency per step, Hz (float64, length n_steps).

    Raises:
        SignalConfigError: Bad time base or parameters.
    """
    check_timebase(start, step_s, n_steps)
    if not _PLAUSIBLE_HZ[0] <= nominal_hz <= _PLAUSIBLE_HZ[1]:
        raise SignalConfigError(
            "nominal_hz", f"{nominal_hz} Hz is not a grid frequency (use 50 or 60)"
        )
    if noise_std_hz < 0:
        raise SignalConfigError("noise_std_hz", f"must not be negative, got {noise_std_hz}")
    if not correlation_time_s > 0:
        raise SignalConfigError("correlation_time_s", f"must be positive, got {correlation_time_s}")
    parsed = parse_frequency_events(events, start)
    t_s = offsets_s(step_s, n_steps)
    level_hz = np.full(t_s.size, float(nominal_hz))
    quiet = np.zeros(t_s.size, dtype=bool)
    for event in parsed:
        _apply_event(level_hz, quiet, t_s, event)
    noise_hz = ornstein_uhlenbeck(
        stream_rng(seed, "frequency"), t_s.size, step_s, noise_std_hz, correlation_time_s
    )
    return np.where(quiet, level_hz, level_hz + noise_hz)
