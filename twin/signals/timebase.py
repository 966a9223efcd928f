"""Sample times of a signal: start (tz-aware) + k * step_s, local clock, and seeded streams.

Every generator in this package returns one value per simulation step k = 0 .. n_steps-1 at
time start + k * step_s; the value holds over [t_k, t_k + step_s).
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np

from twin.config.durations import parse_duration_s
from twin.signals.errors import SignalConfigError


def check_timebase(start: dt.datetime, step_s: float, n_steps: int) -> None:
    """Raise SignalConfigError unless start is tz-aware, step_s > 0 and n_steps >= 0."""
    if not isinstance(start, dt.datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise SignalConfigError("start", f"must be a time-zone-aware datetime, got {start!r}")
    if not step_s > 0:
        raise SignalConfigError("step_s", f"must be positive, got {step_s}")
    if int(n_steps) != n_steps or n_steps < 0:
        raise SignalConfigError("n_steps", f"must be a non-negative whole number, got {n_steps}")


def offsets_s(step_s: float, n_steps: int) -> np.ndarray:
    """Seconds from start of every step."""
    return np.arange(int(n_steps), dtype=float) * step_s


def stream_rng(seed: int, stream: str) -> np.random.Generator:
    """Random generator for one named signal stream.

    Mixing the stream name into the seed keeps two signals built from the same scenario seed
    independent (the same seed alone would give them identical noise).
    """
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise SignalConfigError("seed", f"must be a non-negative whole number, got {seed!r}")
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode())])


def seconds_from_start(start: dt.datetime, at: object, field: str) -> float:
    """Offset of `at` from `start`, s.

    Args:
        start: Signal start (tz-aware).
        at: Seconds (number), a duration string ("90min", "2h"), an ISO-8601 time string or a
            datetime; a time without zone is read in the zone of `start`.
        field: Where `at` came from, for error messages.
    """
    if isinstance(at, bool):
        raise SignalConfigError(field, f"expected a time, got {at!r}")
    if isinstance(at, int | float):
        return float(at)
    when = at
    if isinstance(at, str):
        try:
            return float(parse_duration_s(at))
        except ValueError:
            pass
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            raise SignalConfigError(
                field,
                f"'{at}' is neither a duration ('90min') nor an ISO-8601 time ('2024-06-01T10:00+09:00')",
            ) from None
    if not isinstance(when, dt.datetime):
        raise SignalConfigError(field, f"expected a time, got {at!r}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=start.tzinfo)
    return (when - start).total_seconds()


@dataclass(frozen=True)
class LocalClock:
    """Wall-clock position of every step in the zone of the start time.

    Attributes:
        second_of_day: Seconds after local midnight.
        day_of_year: 1..366.
        weekday: 0 = Monday .. 6 = Sunday.
        wall_s: Local wall-clock time as seconds since 1970-01-01 (zone offset folded in),
            for aligning to clock boundaries such as 30-min slots.
    """

    second_of_day: np.ndarray
    day_of_year: np.ndarray
    weekday: np.ndarray
    wall_s: np.ndarray


def local_clock(start: dt.datetime, step_s: float, n_steps: int) -> LocalClock:
    """Local wall-clock of every step (DST-aware through the start's tzinfo).

    Pure numpy (validating a scenario must not load pandas): the instants are whole
    microseconds after the epoch, the start's tzinfo gives the UTC offset, and offsets change
    only at the zone's transitions, which are found by bisection between daily samples.
    """
    epoch_us = np.round((start.timestamp() + offsets_s(step_s, n_steps)) * 1e6).astype("int64")
    offset_us = _utc_offsets_us(start.tzinfo, epoch_us)
    wall_ns = (epoch_us + offset_us) * 1000
    wall_s = wall_ns.astype(float) / 1e9
    days = np.floor_divide(wall_ns, 86_400 * 10**9)
    year_start = days.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]")
    return LocalClock(
        second_of_day=np.mod(wall_s, 86400.0),
        day_of_year=(days - year_start.astype("int64") + 1).astype(float),
        weekday=((days + 3) % 7).astype(int),  # 1970-01-01 was a Thursday (weekday 3)
        wall_s=wall_s,
    )


_DAY_US = 86_400 * 10**6


def _offset_us(tz: dt.tzinfo | None, epoch_us: int) -> int:
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(epoch_us))
    offset = instant.astimezone(tz).utcoffset()
    return 0 if offset is None else offset // dt.timedelta(microseconds=1)


def _utc_offsets_us(tz: dt.tzinfo | None, epoch_us: np.ndarray) -> np.ndarray:
    """UTC offset in microseconds at every (sorted) instant."""
    if epoch_us.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(epoch_us[0]), int(epoch_us[-1])
    # Samples every 6 h (no zone changes its offset twice within 6 h), then each change is
    # narrowed down to the first microsecond of the new offset.
    samples = list(range(lo, hi, _DAY_US // 4)) + [hi]
    changes: list[int] = []
    offsets = [_offset_us(tz, samples[0])]
    for a, b in zip(samples, samples[1:], strict=False):
        ob = _offset_us(tz, b)
        if ob != offsets[-1]:
            left, right = a, b  # offset(left) is the old one, offset(right) the new one
            while right - left > 1:
                mid = (left + right) // 2
                if _offset_us(tz, mid) == offsets[-1]:
                    left = mid
                else:
                    right = mid
            changes.append(right)
            offsets.append(ob)
    if not changes:
        return np.full(epoch_us.size, offsets[0], dtype=np.int64)
    index = np.searchsorted(np.array(changes, dtype=np.int64), epoch_us, side="right")
    return np.array(offsets, dtype=np.int64)[index]


def ornstein_uhlenbeck(
    rng: np.random.Generator, n: int, step_s: float, std: float, correlation_time_s: float
) -> np.ndarray:
    """Stationary Ornstein-Uhlenbeck samples (mean 0) by exact discretisation.

    x[k+1] = a x[k] + std sqrt(1 - a^2) xi[k],  a = exp(-step_s / correlation_time_s),
    x[0] ~ N(0, std^2), so every sample has standard deviation `std` whatever the step.
    """
    if n == 0:
        return np.zeros(0)
    from scipy.signal import lfilter  # scipy ships with pandapower; imported lazily

    a = float(np.exp(-step_s / correlation_time_s))
    xi = rng.standard_normal(n)
    first = std * xi[0]
    out = lfilter([std * np.sqrt(1.0 - a * a)], [1.0, -a], xi[1:], zi=[a * first])[0]
    return np.concatenate(([first], out))
