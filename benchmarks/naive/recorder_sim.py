"""Naive recorder: sums every EV's power per fleet (one input per EV) into a row per step."""

from __future__ import annotations

from collections import defaultdict

import mosaik_api_v3
from mosaik_api_v3.types import Meta

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {"Recorder": {"public": True, "any_inputs": True, "params": [], "attrs": []}},
}


class NaiveRecorderSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.rows: list[dict[str, float]] = []
        self.step_s = 1

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> Meta:  # type: ignore[override]
        self.step_s = step_s
        return self.meta

    def create(self, num: int, model: str) -> list[dict]:  # type: ignore[override]  # mosaik passes the model params as keywords
        return [{"eid": "recorder", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        row: dict[str, float] = defaultdict(float)
        row["time_s"] = time
        for attr, sources in inputs.get("recorder", {}).items():
            if attr == "p_avg_kw":
                for src, value in sources.items():
                    # src = "EvSim-0.<fleet>[_baseline].<i>": the column is the fleet's power.
                    row[f"{src.split('.')[1]}.p_kw"] += value
            elif attr == "state":
                for value in sources.values():
                    row.update({f"grid.{k}": v for k, v in value.items()})
        self.rows.append(dict(row))
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        return {}
