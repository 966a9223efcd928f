"""Naive grid simulator: a pandapower net stepped with a plain `pandapower.runpp` every step.

The thin equivalent of mosaik-pandapower-2 (which installs and runs with pandapower 3.5.6, but
drives base load only from SimBench profile rows counted from 1 January, so it cannot replay a
scenario that starts on another day or scales its load): one `Bus-<position>` child entity per bus
takes the EVs' `p_mw` (summed), the scenario's base-load/PV profiles are written into the net's
tables, and `runpp` solves with its defaults, as a naive user calls it.
"""

from __future__ import annotations

import copy
from typing import Any

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import Meta

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Grid": {"public": True, "params": ["net", "profiles"], "attrs": ["state"]},
        "Bus": {"public": False, "params": [], "attrs": ["p_mw"]},
    },
}


class NaiveGridSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.net: Any = None
        self.profiles: Any = None
        self.ev_load_ids: np.ndarray | None = None
        self.step_s = 1
        self.state: dict[str, float] = {}

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> Meta:  # type: ignore[override]
        self.step_s = step_s
        return self.meta

    def create(self, num: int, model: str, net: Any, profiles: Any) -> list[dict]:  # type: ignore[override]  # mosaik passes the model params as keywords
        import pandapower as pp

        self.net = copy.deepcopy(net)
        for table in ("load", "sgen", "storage"):
            if "scaling" in self.net[table]:
                self.net[table]["scaling"] = 1.0
        self.n_net_loads = len(self.net.load)
        self.ev_load_ids = np.asarray(
            pp.create_loads(self.net, self.net.bus.index.to_numpy(), p_mw=0.0, name="ev")
        )
        self.profiles = profiles
        children = [{"eid": f"Bus-{k}", "type": "Bus"} for k in range(len(self.net.bus))]
        return [{"eid": "Grid", "type": model, "children": children}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        import pandapower as pp

        net, prof, k = self.net, self.profiles, time // self.step_s
        load_p = net.load["p_mw"].to_numpy().copy()
        load_q = net.load["q_mvar"].to_numpy().copy()
        load_p[: self.n_net_loads] = prof.load_p_mw[k]
        load_q[: self.n_net_loads] = prof.load_q_mvar[k]
        for eid, data in inputs.items():
            if eid.startswith("Bus-"):
                load_p[self.n_net_loads + int(eid[4:])] = sum(data.get("p_mw", {}).values())
        net.load["p_mw"] = load_p
        net.load["q_mvar"] = load_q
        net.sgen["p_mw"] = prof.sgen_p_mw[k]
        if len(net.storage):
            net.storage["p_mw"] = prof.storage_p_mw[k]
        try:
            pp.runpp(net, numba=pp.NUMBA_INSTALLED)  # as mosaik-pandapower-2 calls it
            vm = net.res_bus["vm_pu"].to_numpy()
            self.state = {
                "converged": 1.0,
                "vm_min_pu": float(np.nanmin(vm)),
                "vm_max_pu": float(np.nanmax(vm)),
                "line_loading_max_pct": float(net.res_line["loading_percent"].max()),
                "trafo_loading_max_pct": float(net.res_trafo["loading_percent"].max()),
                "slack_p_mw": float(net.res_ext_grid["p_mw"].sum()),
                "ev_p_mw": float(load_p[self.n_net_loads :].sum()),
            }
        except pp.LoadflowNotConverged:
            self.state = {"converged": 0.0}
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        return {eid: {a: self.state for a in attrs} for eid, attrs in outputs.items()}
