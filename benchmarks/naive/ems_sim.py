"""Naive EMS simulator: gathers every EV's state through its own mosaik connections, runs the
twin's EMS logic on it, and hands each EV its set-point.

The decision logic is the twin's (twin.ems), deliberately: the comparison is about the
architecture (entities per EV, per-attribute data exchange), not about a different algorithm.
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import Meta

from twin.ems.controller import EnergyManagementSystem
from twin.fleet.model import FleetTable, FleetView

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "EMS": {
            "public": True,
            "any_inputs": True,
            "params": ["ems", "start_second_of_day", "fleets"],
            "attrs": ["setpoint_kw", "state"],
        }
    },
}


class NaiveEmsSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.ems: EnergyManagementSystem | None = None
        self.fleets: dict[str, tuple[FleetTable, list[str]]] = {}
        self.setpoints: dict[str, float] = {}
        self.step_s = 1
        self.start_second_of_day = 0

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> Meta:  # type: ignore[override]
        self.step_s = step_s
        return self.meta

    def create(  # type: ignore[override]  # mosaik passes the model params as keywords
        self,
        num: int,
        model: str,
        ems: EnergyManagementSystem,
        start_second_of_day: int,
        fleets: dict[str, tuple[FleetTable, list[str]]],
    ) -> list[dict]:
        """`fleets`: name -> (static table, the full mosaik ids of its EV entities in table order)."""
        self.ems, self.start_second_of_day, self.fleets = ems, start_second_of_day, fleets
        return [{"eid": "ems", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        assert self.ems is not None
        inp = inputs.get("ems", {})
        views = {}
        for name, (table, ids) in sorted(self.fleets.items()):

            def column(attr: str, ids: list[str] = ids) -> np.ndarray:
                got = inp.get(attr, {})
                return np.array([got[i] for i in ids], dtype=float)

            views[name] = FleetView(
                name=name,
                time_s=time,
                plugged=column("plugged").astype(bool),
                soc=column("soc"),
                p_kw=column("p_kw"),
                depart_s=column("depart_s"),
                session_target_soc=column("target_soc"),
                table=table,
            )
        signals: dict[str, float] = next(iter(inp.get("signals", {}).values()), {})
        grid: dict[str, Any] = next(iter(inp.get("grid", {}).values()), {})
        second_of_day = (self.start_second_of_day + time) % 86400
        decision = self.ems.decide(views, self.step_s, second_of_day, signals, grid)
        self.setpoints = {}
        for name, (_, ids) in self.fleets.items():
            for full_id, p in zip(ids, decision.setpoints_kw[name].tolist(), strict=True):
                self.setpoints[full_id.split(".", 1)[1]] = p
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        return {eid: {a: self.setpoints for a in attrs} for eid, attrs in outputs.items()}
