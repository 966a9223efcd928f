"""Live signals: schedules a protocol client (the OpenADR VEN, adapters/openadr) writes from its
own thread and the run reads each step.

A schedule is a list of intervals (start, end, value) in UTC seconds under one source id (an
OpenADR event id): a new version of an event replaces its intervals, a cancelled one removes
them. Where schedules overlap, the one received last wins (an operator's newer command). Outside
every interval a signal takes its `idle` value (no command: 0 reduction, 0 regulation, 0 kWh).

Plain Python with one lock: the writer is an I/O thread, the reader the mosaik step, and a
read never waits for the network.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Interval = tuple[float, float, float]
"""(start, end) in UTC seconds since the epoch and the value over [start, end)."""


@dataclass(frozen=True)
class _Schedule:
    order: int
    starts: tuple[float, ...]
    intervals: tuple[Interval, ...]


class LiveSignalBuffer:
    """Thread-safe schedules of live signals by signal name, and counts of what the writer saw.

    Counters (`counts()`): `received` (schedules put), `cancelled` (removed), `malformed`
    (messages the writer could not use; it counts them with `count("malformed")`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._schedules: dict[str, dict[str, _Schedule]] = {}
        self._order = 0
        self._counts: dict[str, int] = {"received": 0, "cancelled": 0, "malformed": 0}

    def put(self, name: str, source_id: str, intervals: Sequence[Interval]) -> None:
        """Set (or replace) the schedule `source_id` of signal `name`."""
        ordered = tuple(sorted((float(a), float(b), float(v)) for a, b, v in intervals))
        for start, end, value in ordered:
            if not end > start:
                raise ValueError(f"interval [{start}, {end}) of {source_id} is empty")
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"value {value!r} of {source_id} is not finite")
        with self._lock:
            self._order += 1
            schedule = _Schedule(self._order, tuple(i[0] for i in ordered), ordered)
            self._schedules.setdefault(name, {})[source_id] = schedule
            self._counts["received"] += 1

    def remove(self, source_id: str) -> None:
        """Drop the schedule `source_id` from every signal (a cancelled event)."""
        with self._lock:
            for by_id in self._schedules.values():
                by_id.pop(source_id, None)
            self._counts["cancelled"] += 1

    def count(self, key: str) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def value_at(self, name: str, utc_s: float) -> float | None:
        """The value of `name` at `utc_s` from the newest schedule covering it, None if none does."""
        with self._lock:
            schedules = sorted(self._schedules.get(name, {}).values(), key=lambda s: -s.order)
        for schedule in schedules:
            i = bisect.bisect_right(schedule.starts, utc_s) - 1
            if i >= 0:
                start, end, value = schedule.intervals[i]
                if start <= utc_s < end:
                    return value
        return None


class LiveSignalReader:
    """What the signal simulator asks each step: the live signals' values at that step's time.

    Args:
        buffer: the schedules the protocol client writes.
        idle: signal name -> value when no schedule covers the step.
        start_utc: the scenario's start (time of step 0).
        clock: "scenario" (step k is at start + k x step, so a VTN can dispatch simulated time,
            also at a speed-up) or "wall" (a step is at the wall-clock time it is read: a real
            VTN dispatching now; at rt_factor 1 both agree once the scenario starts now).
        now: wall clock, UTC seconds since the epoch (injectable for tests).
    """

    def __init__(
        self,
        buffer: LiveSignalBuffer,
        idle: Mapping[str, float],
        start_utc: dt.datetime,
        clock: str = "scenario",
        now: Callable[[], float] | None = None,
    ) -> None:
        if clock not in ("scenario", "wall"):
            raise ValueError(f"clock must be 'scenario' or 'wall', got {clock!r}")
        self.buffer = buffer
        self.idle = dict(idle)
        self.start_utc_s = start_utc.timestamp()
        self.clock = clock
        self._now = now or time.time

    def time_of(self, sim_time_s: float) -> float:
        """UTC seconds of the step at `sim_time_s` under this reader's clock."""
        if self.clock == "wall":
            return float(self._now())
        return self.start_utc_s + float(sim_time_s)

    def values(self, sim_time_s: float) -> dict[str, float]:
        at = self.time_of(sim_time_s)
        out = {}
        for name, idle in self.idle.items():
            value = self.buffer.value_at(name, at)
            out[name] = idle if value is None else value
        return out
