"""mosaik wrapper of twin.ems: one EMS entity for all fleets.

Inputs: `view` from every fleet (time-shifted: the state at this step's start), `signals`
(dict), `grid` (dict, time-shifted: last solved grid state), `offline` (dict fleet -> mask of
physical chargers that are unreachable, time-shifted; the EMS re-allocates their share). Outputs: `setpoints_kw` (dict fleet
name -> array), `target_kw`, `feasible_lo_kw`, `feasible_hi_kw`, `contributions_kw`.
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np

from twin.ems.controller import EmsDecision, EnergyManagementSystem
from twin.results.records import ems_record
from twin.run.pacing import WallClockPacer

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "EMS": {
            "public": True,
            "params": ["ems", "second_of_day_s", "pacer"],
            "attrs": [
                "view",
                "signals",
                "grid",
                "offline",
                "setpoints_kw",
                "target_kw",
                "feasible_lo_kw",
                "feasible_hi_kw",
                "contributions_kw",
                "record",
            ],
        }
    },
}


class EmsSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.ems: EnergyManagementSystem | None = None
        self.decision: EmsDecision | None = None
        self.step_s = 1
        self.second_of_day_s: np.ndarray | None = None
        self.pacer: WallClockPacer | None = None

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> dict:
        self.step_s = step_s
        return self.meta

    def create(
        self,
        num: int,
        model: str,
        ems: EnergyManagementSystem,
        second_of_day_s: np.ndarray,
        pacer: WallClockPacer | None = None,
    ) -> list[dict]:
        # Local clock of every step, computed once with the scenario's time zone: a daylight-
        # saving change moves the windows with the wall clock, as the KPIs measure them.
        self.ems = ems
        self.second_of_day_s = np.asarray(second_of_day_s)
        self.pacer = pacer
        return [{"eid": "ems", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        assert self.ems is not None
        if self.pacer is not None:
            # The EMS is where a step's decisions are made (and sent to hardware): pace it.
            self.pacer.wait(time)
        inp = inputs.get("ems", {})
        views = {v.name: v for v in inp.get("view", {}).values()}
        views = dict(sorted(views.items()))
        signals = next(iter(inp.get("signals", {}).values()), {})
        grid = next(iter(inp.get("grid", {}).values()), {})
        offline = next(iter(inp.get("offline", {}).values()), None) or None
        assert self.second_of_day_s is not None
        second_of_day = int(
            self.second_of_day_s[min(time // self.step_s, len(self.second_of_day_s) - 1)]
        )
        self.decision = self.ems.decide(views, self.step_s, second_of_day, signals, grid, offline)
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        d = self.decision
        values: dict[str, Any] = {
            "setpoints_kw": d.setpoints_kw if d else {},
            "target_kw": d.target_kw if d else 0.0,
            "feasible_lo_kw": d.feasible_lo_kw if d else 0.0,
            "feasible_hi_kw": d.feasible_hi_kw if d else 0.0,
            "contributions_kw": d.contributions_kw if d else {},
            "record": ems_record(d, self.ems),
        }
        return {eid: {a: values[a] for a in attrs} for eid, attrs in outputs.items()}
