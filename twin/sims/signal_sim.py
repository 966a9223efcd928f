"""mosaik wrapper serving pre-computed signal series (prices, CO2, frequency, ...).

Entity param `series`: dict name -> array with one value per step. Output `values`: dict of the
current values (floats).
"""

from __future__ import annotations

import mosaik_api_v3
import numpy as np

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {"Signals": {"public": True, "params": ["series"], "attrs": ["values", "record"]}},
}


class SignalSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.series: dict[str, np.ndarray] = {}
        self.step_s = 1
        self.index = 0

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> dict:
        self.step_s = step_s
        return self.meta

    def create(self, num: int, model: str, series: dict[str, np.ndarray]) -> list[dict]:
        self.series = series
        return [{"eid": "signals", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        self.index = time // self.step_s
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        values = {k: float(v[self.index]) for k, v in self.series.items()}
        record = {f"signal.{k}": v for k, v in values.items()}
        out = {"values": values, "record": record}
        return {eid: {a: out[a] for a in attrs} for eid, attrs in outputs.items()}
