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


def _nanmax(a: np.ndarray) -> float:
    return float(np.max(a)) if a.size and not np.isnan(a).all() else float("nan")


def _nanmin(a: np.ndarray) -> float:
    return float(np.min(a)) if a.size and not np.isnan(a).all() else float("nan")


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

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1, block_steps: int = 1,
             n_steps: int | None = None) -> dict:
        self.step_s, self.block_steps, self.n_steps = step_s, block_steps, n_steps
        return self.meta

    def create(self, num: int, model: str, powerflow: Any, profiles: Any) -> list[dict]:
        self.pf, self.profiles = powerflow, profiles
        return [{"eid": "grid", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        k0 = time // self.step_s
        n = self.block_steps if self.n_steps is None else min(self.block_steps, self.n_steps - k0)
        ev = np.zeros((n, len(self.pf.bus_ids)))
        for value in inputs.get("grid", {}).get("p_bus_mw", {}).values():
            ev += value  # (n_bus,) broadcasts over a block of one step
        prof = self.profiles
        columns: dict[str, list[float]] = {name: [] for name in _STATE}
        vm, line, trafo = [], [], []
        for j in range(n):
            k = k0 + j
            r = self.pf.solve(prof.load_p_mw[k], prof.load_q_mvar[k], prof.sgen_p_mw[k], ev[j],
                              storage_p_mw=prof.storage_p_mw[k])
            if not r.converged:
                self.nonconverged_steps += 1
            values = (float(r.converged), _nanmin(r.vm_pu), _nanmax(r.vm_pu), _nanmax(r.line_loading_pct),
                      _nanmax(r.trafo_loading_pct), float(r.slack_p_mw), float(ev[j].sum()),
                      float(prof.load_p_mw[k].sum()), float(prof.sgen_p_mw[k].sum()))
            for name, value in zip(_STATE, values, strict=True):
                columns[name].append(value)
            vm.append(r.vm_pu)
            line.append(r.line_loading_pct)
            trafo.append(r.trafo_loading_pct)
        self._record = {f"grid.{name}": np.array(v) for name, v in columns.items()}
        self._state = {name: v[-1] for name, v in columns.items()}
        self._detail = {"vm_pu": np.array(vm), "line_loading_pct": np.array(line),
                        "trafo_loading_pct": np.array(trafo), "ev_p_mw": ev}
        return time + self.step_s * self.block_steps

    def get_data(self, outputs: dict) -> dict:
        out = {"state": self._state, "record": self._record, "detail": self._detail}
        return {eid: {a: out[a] for a in attrs} for eid, attrs in outputs.items()}


_STATE = ("converged", "vm_min_pu", "vm_max_pu", "line_loading_max_pct", "trafo_loading_max_pct",
          "slack_p_mw", "ev_p_mw", "load_p_mw", "pv_p_mw")
"""Scalars per step the EMS sees (`state`) and the results record as `grid.<name>`."""
