"""Fleets, their baseline shadows and the EMS stepped together over a block of model steps.

Why one loop: the EMS decides each step from the fleets' state at that step's start, and each
fleet then steps with those set-points, so fleet and EMS exchange data every model step. As
separate mosaik simulators that exchange costs a mosaik step (~1 ms, benchmarks/RESULTS.md):
more than the models themselves at city scale, and more than a whole 1-s step may take. Here it is
a Python loop over the same model calls in the same order, so a run gives the same results at any
block size (tests/integration/test_block_stepping.py); only the grid state the EMS sees is the
last step of the previous block instead of the previous step (no service reads it today).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.ems.controller import EnergyManagementSystem
from twin.ems.feasibility import feasible_range
from twin.fleet.model import Fleet
from twin.results import columns as col
from twin.results import records


@dataclass(frozen=True)
class StepBlock:
    """What a block of n model steps produced."""

    p_bus_mw: np.ndarray
    """(n, n_bus): average EV power of the controlled fleets per grid bus and step, MW."""
    baseline_p_bus_mw: np.ndarray
    """(n, n_bus): the same for the baseline shadows (charging uncontrolled), MW."""
    columns: dict[str, np.ndarray]
    """Result columns (fleet and EMS records), n values each."""
    per_ev: dict[str, np.ndarray]
    """With `per_ev`: `ev_p_kw.<fleet>` and `ev_soc.<fleet>`, (n, EVs of the fleet) each."""


class FleetControlLoop:
    """Steps the controlled fleets (with the EMS's set-points) and the baseline shadows (charging
    uncontrolled) one model step after another.

    Args:
        fleets: controlled fleets by name; `baselines`: the same fleets' uncontrolled shadows.
        ems: the EMS deciding every controlled fleet's set-points.
        bus_pos: per fleet, the grid bus position of each EV; `n_bus`: buses of the grid.
        second_of_day_s: local wall-clock second of day of every model step (DST-aware).
        step_s: model step, s.
        per_ev: also keep every controlled EV's average power and end-of-step SOC per step.
    """

    def __init__(
        self,
        fleets: Mapping[str, Fleet],
        baselines: Mapping[str, Fleet],
        ems: EnergyManagementSystem,
        bus_pos: Mapping[str, np.ndarray],
        n_bus: int,
        second_of_day_s: np.ndarray,
        step_s: int,
        per_ev: bool = False,
    ):
        self.fleets = dict(fleets)
        self.baselines = dict(baselines)
        self.ems = ems
        self.bus_pos = dict(bus_pos)
        self.n_bus = n_bus
        self.second_of_day_s = np.asarray(second_of_day_s)
        self.step_s = step_s
        self._names = sorted(self.fleets)
        self.per_ev = per_ev

    def run_block(
        self,
        k0: int,
        n: int,
        signals: Mapping[str, np.ndarray],
        grid: Mapping[str, Any] | None = None,
    ) -> StepBlock:
        """Advance model steps k0 .. k0 + n - 1.

        Args:
            signals: name -> the n values of the block's steps.
            grid: the last solved grid state (the EMS's view of the grid for the whole block).
        """
        p_bus = np.zeros((n, self.n_bus))
        base_bus = np.zeros((n, self.n_bus))
        rows: list[dict[str, float]] = []
        traces: dict[str, list[np.ndarray]] = {}
        step_s, fleets, baselines = self.step_s, self.fleets, self.baselines
        clock = self.second_of_day_s
        for j in range(n):
            k = k0 + j
            views = {name: fleets[name].view() for name in self._names}
            values = {name: float(v[j]) for name, v in signals.items()}
            decision = self.ems.decide(
                views, step_s, int(clock[min(k, len(clock) - 1)]), values, grid
            )
            row: dict[str, float] = {}
            for name, fleet in fleets.items():
                p_kw = fleet.step(decision.setpoints_kw[name])
                p_bus[j] += (
                    np.bincount(self.bus_pos[name], weights=p_kw, minlength=self.n_bus) / 1000.0
                )
                row.update(records.fleet_record(name, fleet))
                if self.per_ev:
                    for key, trace in records.ev_detail(name, fleet, p_kw).items():
                        traces.setdefault(key, []).append(trace)
            for name, shadow in baselines.items():
                p_base = shadow.step(feasible_range(shadow.view(), step_s).hi_kw)
                base_bus[j] += (
                    np.bincount(self.bus_pos[name], weights=p_base, minlength=self.n_bus) / 1000.0
                )
                row.update(records.fleet_record(col.baseline_entity(name), shadow))
            row.update(records.ems_record(decision, self.ems))
            rows.append(row)
        keys = dict.fromkeys(key for row in rows for key in row)
        columns = {key: np.array([row.get(key, np.nan) for row in rows]) for key in keys}
        return StepBlock(
            p_bus_mw=p_bus,
            baseline_p_bus_mw=base_bus,
            columns=columns,
            per_ev={key: np.array(steps) for key, steps in traces.items()},
        )
