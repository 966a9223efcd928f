"""Wall-time accounting of the twin's parts: wraps named functions with accumulating timers.

Only for benchmark processes: the wrappers cost ~0.3 us per call and are removed by `restore()`.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable
from typing import Any

MODEL_PARTS: dict[str, list[str]] = {
    "power flow": ["grids.powerflow:PowerFlow.solve"],
    "fleet step": ["twin.fleet.model:Fleet.step"],
    "EMS decide": ["twin.ems.controller:EnergyManagementSystem.decide"],
    "fleet views + baseline ranges": [
        "twin.fleet.model:Fleet.view",
        "twin.ems.feasibility:feasible_range",
    ],
    "records": ["twin.results.records:fleet_record", "twin.results.records:ems_record"],
}
"""Part name -> `module:function` or `module:Class.method` of the models (none calls another)."""

SIMULATOR_METHODS: list[str] = [
    f"twin.sims.{module}:{cls}.{method}"
    for module, cls in (
        ("fleet_sim", "FleetSim"),
        ("ems_sim", "EmsSim"),
        ("grid_sim", "GridSim"),
        ("signal_sim", "SignalSim"),
        ("recorder_sim", "RecorderSim"),
        ("hardware_sim", "HardwareSim"),
        ("fleet_control_sim", "FleetControlSim"),
    )
    for method in ("step", "get_data")
]
"""Every simulator entry point mosaik calls: their total minus the model parts is the simulators'
own work (loop, block assembly, recording); world.run minus their total is mosaik's."""

TWIN_PARTS: dict[str, list[str]] = {**MODEL_PARTS, "in simulators": SIMULATOR_METHODS}


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
                module = importlib.import_module(module_name)
                owner = getattr(module, owner_name) if owner_name else module
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
