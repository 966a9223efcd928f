"""Wall-time accounting of the twin's parts: wraps named functions with accumulating timers.

Only for benchmark processes: the wrappers cost ~0.3 us per call and are removed by `restore()`.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable
from typing import Any

TWIN_PARTS: dict[str, list[str]] = {
    "power flow": ["grids.powerflow:PowerFlow.solve"],
    "fleet step": ["twin.sims.fleet_sim:FleetSim.step"],
    "EMS decide": ["twin.sims.ems_sim:EmsSim.step"],
    "recorder": ["twin.sims.recorder_sim:RecorderSim.step"],
    "grid sim (besides power flow)": ["twin.sims.grid_sim:GridSim.step"],
    "outputs (get_data)": ["twin.sims.fleet_sim:FleetSim.get_data", "twin.sims.ems_sim:EmsSim.get_data",
                           "twin.sims.grid_sim:GridSim.get_data", "twin.sims.signal_sim:SignalSim.get_data"],
    "signals": ["twin.sims.signal_sim:SignalSim.step"],
}
"""Part name -> `module:Class.method` targets. The grid sim's time includes the power flow; the
report subtracts it."""


class PartTimers:
    """Accumulated seconds and call counts per part while installed."""

    def __init__(self, parts: dict[str, list[str]]):
        self.parts = parts
        self.seconds: dict[str, float] = dict.fromkeys(parts, 0.0)
        self.calls: dict[str, int] = dict.fromkeys(parts, 0)
        self._originals: list[tuple[Any, str, Callable[..., Any]]] = []

    def install(self) -> PartTimers:
        for part, targets in self.parts.items():
            for target in targets:
                module_name, _, qual = target.partition(":")
                owner_name, _, method = qual.rpartition(".")
                owner = getattr(importlib.import_module(module_name), owner_name)
                original = getattr(owner, method)
                self._originals.append((owner, method, original))
                setattr(owner, method, self._wrap(part, original))
        return self

    def _wrap(self, part: str, original: Callable[..., Any]) -> Callable[..., Any]:
        seconds, calls, clock = self.seconds, self.calls, time.perf_counter

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[part] += clock() - t0
                calls[part] += 1

        return timed

    def restore(self) -> None:
        for owner, method, original in reversed(self._originals):
            setattr(owner, method, original)
        self._originals.clear()
