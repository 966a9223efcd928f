"""mosaik wrapper of the grid: base load + PV profiles + EV power per bus -> AC power flow.

Entity params: `powerflow` (grids.PowerFlow), `profiles` (grids.GridProfiles), `step_s`.
Input `p_bus_mw` from every fleet entity (summed). Outputs: `state` (dict of scalars for the
EMS), `record` (result columns), `detail` (per-element arrays for the grid view).
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
        self.result: Any = None
        self.nonconverged_steps = 0

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> dict:
        self.step_s = step_s
        return self.meta

    def create(self, num: int, model: str, powerflow: Any, profiles: Any) -> list[dict]:
        self.pf, self.profiles = powerflow, profiles
        return [{"eid": "grid", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        k = time // self.step_s
        ev = np.zeros(len(self.pf.bus_ids))
        for value in inputs.get("grid", {}).get("p_bus_mw", {}).values():
            ev += value
        prof = self.profiles
        self.result = self.pf.solve(prof.load_p_mw[k], prof.load_q_mvar[k], prof.sgen_p_mw[k], ev,
                                    storage_p_mw=prof.storage_p_mw[k])
        if not self.result.converged:
            self.nonconverged_steps += 1
        self.ev_p_mw = float(ev.sum())
        self.ev_bus_p_mw = ev
        self.load_p_mw = float(prof.load_p_mw[k].sum())
        self.pv_p_mw = float(prof.sgen_p_mw[k].sum())
        return time + self.step_s

    def _state(self) -> dict[str, float]:
        r = self.result
        if r is None:
            return {}
        return {
            "converged": float(r.converged),
            "vm_min_pu": _nanmin(r.vm_pu),
            "vm_max_pu": _nanmax(r.vm_pu),
            "line_loading_max_pct": _nanmax(r.line_loading_pct),
            "trafo_loading_max_pct": _nanmax(r.trafo_loading_pct),
            "slack_p_mw": float(r.slack_p_mw),
            "ev_p_mw": self.ev_p_mw,
            "load_p_mw": self.load_p_mw,
            "pv_p_mw": self.pv_p_mw,
        }

    def get_data(self, outputs: dict) -> dict:
        state = self._state()
        r = self.result
        out = {
            "state": state,
            "record": {f"grid.{k}": v for k, v in state.items()},
            "detail": {
                "vm_pu": r.vm_pu, "line_loading_pct": r.line_loading_pct,
                "trafo_loading_pct": r.trafo_loading_pct, "ev_p_mw": self.ev_bus_p_mw,
            } if r is not None else {},
        }
        return {eid: {a: out[a] for a in attrs} for eid, attrs in outputs.items()}
