"""mosaik wrapper serving pre-computed signal series (prices, CO2, frequency, ...).

Entity param `series`: dict name -> array with one value per model step. A mosaik step covers
`block_steps` model steps (1 = one per mosaik step; the last block may be shorter).
Outputs: `values` (dict of the floats at the mosaik step's time), `block` (dict name -> array of
the block's values), `record` (result columns `signal.<name>`, arrays over the block).
"""

from __future__ import annotations

import mosaik_api_v3
import numpy as np

from twin.results import columns as col
from twin.sims.blocks import block_span

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Signals": {"public": True, "params": ["series"], "attrs": ["values", "block", "record"]}
    },
}


class SignalSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.series: dict[str, np.ndarray] = {}
        self.step_s = 1
        self.block_steps = 1
        self.time = 0
        self.n_steps: int | None = None

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

    def create(self, num: int, model: str, series: dict[str, np.ndarray]) -> list[dict]:
        self.series = series
        return [{"eid": "signals", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        self.time = time
        return time + self.step_s * self.block_steps

    def get_data(self, outputs: dict) -> dict:
        k, n = block_span(self.time, self.step_s, self.block_steps, self.n_steps)
        block = {name: v[k : k + n] for name, v in self.series.items()}
        out = {
            "values": {name: float(v[0]) for name, v in block.items()},
            "block": block,
            "record": {col.signal_column(name): v for name, v in block.items()},
        }
        return {eid: {a: out[a] for a in attrs} for eid, attrs in outputs.items()}
