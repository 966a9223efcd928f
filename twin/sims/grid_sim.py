"""mosaik wrapper of the grid: base load + PV profiles + EV power per bus -> AC power flow.

Entity params: `powerflow` (grids.PowerFlow), `profiles` (grids.GridProfiles). A mosaik step
covers `block_steps` model steps (init parameter; 1 = one power flow per mosaik step).
Input `p_bus_mw` from every fleet source (summed): an array (n_bus,) for one step, or
(n, n_bus) for a block of n steps, one power flow per row. Outputs: `state` (dict of scalars of
the block's last step, for the EMS), `record` (result columns, arrays over the block), `detail`
(per-element arrays, (n, n_elements), for the grid view).
A non-converged power flow is recorded (`grid.converged` = 0, NaN results) and the run goes on.
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np

from twin.results import columns as col
from twin.sims.blocks import block_span

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Grid": {
            "public": True,
            "params": ["powerflow", "profiles"],
            "attrs": ["p_bus_mw", "state", "record", "detail"],
        }
    },
}


def _row_stat(a: np.ndarray, stat: Any) -> np.ndarray:
    """`stat` of each row (step) of a (n, elements) block; NaN for a grid without such elements."""
    return stat(a, axis=1) if a.shape[1] else np.full(a.shape[0], np.nan)


class GridSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.pf: Any = None
        self.profiles: Any = None
        self.step_s = 1
        self.block_steps = 1
        self.n_steps: int | None = None
        self.nonconverged_steps = 0
        self._state: dict[str, float] = {}
        self._record: dict[str, np.ndarray] = {}
        self._detail: dict[str, np.ndarray] = {}

    def init(
        self,
        sid: str,
        time_resolution: float = 1.0,
        step_s: int = 1,
        block_steps: int = 1,
        n_steps: int | None = None,
    ) -> dict:
        self.step_s, self.block_steps, self.n_steps = step_s, block_steps, n_steps
        return self.meta

    def create(self, num: int, model: str, powerflow: Any, profiles: Any) -> list[dict]:
        self.pf, self.profiles = powerflow, profiles
        return [{"eid": "grid", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        k0, n = block_span(time, self.step_s, self.block_steps, self.n_steps)
        ev = np.zeros((n, len(self.pf.bus_ids)))
        for value in inputs.get("grid", {}).get("p_bus_mw", {}).values():
            ev += value  # (n_bus,) broadcasts over a block of one step
        prof = self.profiles
        results = [
            self.pf.solve(
                prof.load_p_mw[k],
                prof.load_q_mvar[k],
                prof.sgen_p_mw[k],
                ev[j],
                storage_p_mw=prof.storage_p_mw[k],
            )
            for j, k in enumerate(range(k0, k0 + n))
        ]
        converged = np.array([r.converged for r in results], dtype=float)
        self.nonconverged_steps += int(n - converged.sum())
        vm = np.array([r.vm_pu for r in results])
        line = np.array([r.line_loading_pct for r in results])
        trafo = np.array([r.trafo_loading_pct for r in results])
        # Block statistics in one call per column (max/min propagate NaN, as a non-converged
        # step's NaN results must).
        columns = {
            "converged": converged,
            "vm_min_pu": _row_stat(vm, np.min),
            "vm_max_pu": _row_stat(vm, np.max),
            "line_loading_max_pct": _row_stat(line, np.max),
            "trafo_loading_max_pct": _row_stat(trafo, np.max),
            "slack_p_mw": np.array([r.slack_p_mw for r in results], dtype=float),
            "ev_p_mw": ev.sum(axis=1),
            "load_p_mw": prof.load_p_mw[k0 : k0 + n].sum(axis=1),
            "pv_p_mw": prof.sgen_p_mw[k0 : k0 + n].sum(axis=1),
        }
        self._record = {col.grid_column(name): columns[name] for name in _STATE}
        self._state = {name: float(columns[name][-1]) for name in _STATE}
        self._detail = {
            "vm_pu": vm,
            "line_loading_pct": line,
            "trafo_loading_pct": trafo,
            "ev_p_mw": ev,
        }
        return time + self.step_s * self.block_steps

    def get_data(self, outputs: dict) -> dict:
        out = {"state": self._state, "record": self._record, "detail": self._detail}
        return {eid: {a: out[a] for a in attrs} for eid, attrs in outputs.items()}


_STATE = col.GRID_QUANTITIES
"""Scalars per step the EMS sees (`state`) and the results record as `grid.<name>`."""
