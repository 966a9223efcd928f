"""mosaik sink: merges every simulator's `record` dict into one results row per step, and hands
grid detail arrays to the recorder; then calls each observer (live telemetry, test invariants)
with `(row, detail)`. Observers must be fast and must not raise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import mosaik_api_v3
import numpy as np

from twin.results import RunRecorder

StepObserver = Callable[[dict[str, Any], dict[str, np.ndarray]], None]

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Recorder": {
            "public": True,
            "any_inputs": True,
            "params": ["recorder", "start_utc", "grid_ids", "observers"],
            "attrs": [],
        }
    },
}


class RecorderSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.recorder: RunRecorder | None = None
        self.start_utc: dt.datetime | None = None
        self.grid_ids: dict[str, list[str]] = {}
        self.observers: list[StepObserver] = []
        self.step_s = 1
        self.steps_recorded = 0

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> dict:
        self.step_s = step_s
        return self.meta

    def create(self, num: int, model: str, recorder: RunRecorder, start_utc: dt.datetime,
               grid_ids: dict[str, list[str]] | None = None,
               observers: list[StepObserver] | None = None) -> list[dict]:
        self.recorder, self.start_utc = recorder, start_utc
        self.grid_ids = grid_ids or {}
        # The list is shared with PreparedRun, so observers added before run() are seen.
        self.observers = observers if observers is not None else []
        return [{"eid": "recorder", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        assert self.recorder is not None and self.start_utc is not None
        stamp = self.start_utc + dt.timedelta(seconds=time)
        row: dict[str, Any] = {"time": stamp, "time_s": time}
        detail: dict[str, np.ndarray] = {}
        for attr, sources in inputs.get("recorder", {}).items():
            for value in sources.values():
                if attr == "record":
                    row.update(value)
                elif attr == "detail":
                    detail.update(value)
        self.recorder.record("timeseries", row)
        for name, values in detail.items():
            ids = self.grid_ids.get(name)
            if ids is not None:
                self.recorder.record_array(f"grid_{name}", stamp, ids, values)
        for observer in self.observers:
            observer(row, detail)
        self.steps_recorded += 1
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        return {}
