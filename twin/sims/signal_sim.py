"""mosaik wrapper serving pre-computed signal series (prices, CO2, frequency, ...).

Entity param `series`: dict name -> array with one value per model step. A mosaik step covers
`block_steps` model steps (1 = one per mosaik step; the last block may be shorter).
Outputs: `values` (dict of the floats at the mosaik step's time), `block` (dict name -> array of
the block's values), `record` (result columns `signal.<name>`, arrays over the block).

Entity param `live` (real-time runs with a live source, twin/run/live_signals.py): a reader
whose values at the step's time replace those series' values (one model step per mosaik step);
with `pacer`, the step first waits until it is due, so a live value is read at its own time.
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
        "Signals": {
            "public": True,
            "params": ["series", "live", "pacer"],
            "attrs": ["values", "block", "record"],
        }
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
        self.live: Any = None
        self.pacer: Any = None

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

    def create(
        self,
        num: int,
        model: str,
        series: dict[str, np.ndarray],
        live: Any = None,
        pacer: Any = None,
    ) -> list[dict]:
        self.series = series
        self.live, self.pacer = live, pacer
        return [{"eid": "signals", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        self.time = time
        if self.live is not None:
            if self.pacer is not None:
                self.pacer.wait(time)
            k = time // self.step_s
            for name, value in self.live.values(time).items():
                if k < len(self.series[name]):
                    self.series[name][k] = value
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
