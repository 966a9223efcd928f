"""The one manual clock of the tests: time moves only when told to (exact physics, no sleeps)."""

from __future__ import annotations


class ManualClock:
    """A clock that only moves when told to: `clock()` returns `now_s`, `advance(dt_s)` moves it.

    Args:
        start_s: initial time, seconds.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self.now_s = float(start_s)

    def __call__(self) -> float:
        return self.now_s

    def advance(self, dt_s: float) -> None:
        """Move the clock forward by `dt_s` seconds (must be >= 0)."""
        if dt_s < 0:
            raise ValueError(f"a clock cannot go backwards (dt_s={dt_s})")
        self.now_s += dt_s
