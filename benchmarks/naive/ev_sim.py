"""mosaik simulator with one entity per EV (the naive architecture the twin avoids).

Entity params: `ev` (ScalarEV), `fleet` (fleet name), `baseline` (charge uncontrolled by itself).
Input `setpoint_kw` (dict eid -> kW from the EMS). Outputs per EV: `soc`, `plugged`, `p_kw` (power at
this instant, for the EMS), `depart_s`, `target_soc`, `p_avg_kw` (average over the last step, for
the recorder) and `p_mw` (the same in MW, for the grid bus).
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
from mosaik_api_v3.types import Meta

from benchmarks.naive.ev_model import ScalarEV

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "EV": {
            "public": True,
            "params": ["ev", "fleet", "baseline"],
            "attrs": [
                "setpoint_kw",
                "soc",
                "plugged",
                "p_kw",
                "depart_s",
                "target_soc",
                "p_avg_kw",
                "p_mw",
            ],
        }
    },
}


class EvSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.evs: dict[str, ScalarEV] = {}
        self.baseline: dict[str, bool] = {}
        self.p_avg_kw: dict[str, float] = {}
        self.step_s = 1

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> Meta:  # type: ignore[override]
        self.step_s = step_s
        return self.meta

    def create(  # type: ignore[override]  # mosaik passes the model params as keywords
        self, num: int, model: str, ev: ScalarEV, fleet: str, baseline: bool = False
    ) -> list[dict]:
        eid = f"{fleet}{'_baseline' if baseline else ''}.{len(self.evs)}"
        self.evs[eid] = ev
        self.baseline[eid] = baseline
        self.p_avg_kw[eid] = 0.0
        return [{"eid": eid, "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        for eid, ev in self.evs.items():
            if self.baseline[eid]:
                setpoint = ev.uncontrolled_kw()
            else:
                received = inputs.get(eid, {}).get("setpoint_kw", {})
                setpoint = next(iter(received.values()))[eid] if received else 0.0
            self.p_avg_kw[eid] = ev.step(setpoint)
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        data: dict[str, dict[str, Any]] = {}
        for eid, attrs in outputs.items():
            ev = self.evs[eid]
            values = {
                "soc": ev.soc,
                "plugged": ev.plugged,
                "p_kw": ev.p_kw,
                "depart_s": ev.depart_view_s(),
                "target_soc": ev.session_target_soc,
                "p_avg_kw": self.p_avg_kw[eid],
                "p_mw": self.p_avg_kw[eid] / 1000.0,
            }
            data[eid] = {a: values[a] for a in attrs}
        return data
