"""mosaik wrapper of twin.run.control_loop: fleets, baseline shadows and the EMS as one simulator
whose mosaik step covers `block_steps` model steps (init parameter; the last block may be shorter).

Entity param `loop` (FleetControlLoop), optional `pacer` (WallClockPacer, real-time runs).
Inputs: `signals` (dict name -> the block's values, SignalSim's `block`), `grid` (time-shifted:
the last solved grid state). Outputs: `p_bus_mw` ((n, n_bus) per step of the block, for the grid),
`baseline_p_bus_mw` (the same for the baseline shadows, for the baseline's own power flow),
`record` (result columns, arrays over the block), `detail` (per-EV arrays (n, EVs) with the
loop's `per_ev`).
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3

from twin.run.control_loop import FleetControlLoop, StepBlock
from twin.run.pacing import WallClockPacer
from twin.sims.blocks import block_span

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "FleetControl": {
            "public": True,
            "params": ["loop", "pacer"],
            "attrs": ["signals", "grid", "p_bus_mw", "baseline_p_bus_mw", "record", "detail"],
        }
    },
}


class FleetControlSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.loop: FleetControlLoop | None = None
        self.pacer: WallClockPacer | None = None
        self.step_s = 1
        self.block_steps = 1
        self.n_steps: int | None = None
        self.block: StepBlock | None = None

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
        self, num: int, model: str, loop: FleetControlLoop, pacer: WallClockPacer | None = None
    ) -> list[dict]:
        self.loop, self.pacer = loop, pacer
        return [{"eid": "fleet_control", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        assert self.loop is not None
        if self.pacer is not None:
            self.pacer.wait(time)
        k0, n = block_span(time, self.step_s, self.block_steps, self.n_steps)
        inp = inputs.get("fleet_control", {})
        signals = next(iter(inp.get("signals", {}).values()), {})
        grid = next(iter(inp.get("grid", {}).values()), {})
        self.block = self.loop.run_block(k0, n, signals, grid)
        return time + self.step_s * self.block_steps

    def get_data(self, outputs: dict) -> dict:
        b = self.block
        out: dict[str, Any] = {
            "p_bus_mw": b.p_bus_mw if b else None,
            "baseline_p_bus_mw": b.baseline_p_bus_mw if b else None,
            "record": b.columns if b else {},
            "detail": b.per_ev if b else {},
        }
        return {eid: {a: out[a] for a in attrs} for eid, attrs in outputs.items()}
