"""Wall-clock pacing of a run (hardware in the loop, live dashboards).

mosaik's own `rt_factor` is not used: while waiting for the next step, mosaik polls with
`asyncio.wait(timeout=rt_factor)` per time unit, so at an accelerated factor (a dry run at
0.001 wall s per simulated s, 1-s time units) the main thread spins every millisecond and holds
the GIL; the HIL I/O thread (CSMS, Modbus polling) then needs seconds for one round trip. The
pacer instead sleeps once per step, which releases the GIL until the step is due.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class WallClockPacer:
    """Holds each step back until the wall clock reaches `t0 + sim_time_s x rt_factor`.

    Args:
        clock: monotonic clock, s (injectable for tests).
        sleep: sleep function, s.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rt_factor: float | None = None
        self._clock = clock
        self._sleep = sleep
        self._t0: float | None = None

    def start(self, rt_factor: float | None) -> None:
        """Pace from now on at `rt_factor` wall seconds per simulated second (None = no pacing)."""
        self.rt_factor = rt_factor
        self._t0 = None

    @property
    def t0(self) -> float | None:
        """Wall-clock time (the pacer's clock) of simulated time 0, once the first step ran."""
        return self._t0

    def wait(self, sim_time_s: float) -> None:
        """Sleep until the step at `sim_time_s` is due; returns at once when late or unpaced."""
        if not self.rt_factor:
            return
        now = self._clock()
        if self._t0 is None:
            self._t0 = now - sim_time_s * self.rt_factor
        due = self._t0 + sim_time_s * self.rt_factor
        if due > now:
            self._sleep(due - now)
