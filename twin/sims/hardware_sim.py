"""mosaik wrapper of the HIL link: physical chargers stand in for some simulated ones.

Inputs: `setpoints_kw` from the EMS (dict fleet -> array). Outputs: `measured_kw` (dict fleet ->
array, NaN where a charger is simulated), `offline` (dict fleet -> bool mask for the EMS),
`record` (per charger power, online and degraded flags; degraded = it refused its set-point, so
the EMS plans without it). Events (disconnect, rejected profile, ...) are
appended to the `events` list given at creation. The step never waits for I/O.
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np

from adapters.bridge import CONNECTED_STATES, LinkState
from twin.results import columns as col
from twin.run.hardware_link import HardwareLink

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Hardware": {
            "public": True,
            "params": ["link", "fleet_sizes", "events"],
            "attrs": ["setpoints_kw", "measured_kw", "ev_needs", "offline", "record"],
        }
    },
}


class HardwareSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.link: HardwareLink | None = None
        self.fleet_sizes: dict[str, int] = {}
        self.step_s = 1
        self.events: list[dict] = []
        self._out: dict[str, Any] = {}

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> dict:
        self.step_s = step_s
        return self.meta

    def create(
        self,
        num: int,
        model: str,
        link: HardwareLink,
        fleet_sizes: dict[str, int],
        events: list[dict],
    ) -> list[dict]:
        # `events` is the caller's list: the run writes it to hil_events.json at the end.
        self.link, self.fleet_sizes, self.events = link, fleet_sizes, events
        return [{"eid": "hardware", "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        link = self.link
        assert link is not None
        received = inputs.get("hardware", {}).get("setpoints_kw", {})
        link.submit_envelope(time // self.step_s)
        if received:
            link.submit(next(iter(received.values())))
        readings, status = link.readings(), link.status()
        for event in link.events():
            self.events.append({**event, "sim_time_s": time})
        measured = {f: np.full(n, np.nan) for f, n in self.fleet_sizes.items()}
        offline = {f: np.zeros(n, dtype=bool) for f, n in self.fleet_sizes.items()}
        record: dict[str, Any] = {}
        for b in link.bindings:
            reading = readings.get(b.charger_id)
            link_state = status.get(b.charger_id)
            online = link_state in CONNECTED_STATES and reading is not None
            degraded = link_state == LinkState.DEGRADED
            # A degraded charger (it refused its set-point) is still measured, but the EMS plans
            # without it, exactly as for one that is offline.
            offline[b.fleet][b.index] = not online or degraded
            if online:
                measured[b.fleet][b.index] = reading.power_kw
            link.observe_step(b.charger_id, reading, online)
            record[col.hil_column(b.charger_id, "power_kw")] = (
                reading.power_kw if reading else float("nan")
            )
            record[col.hil_column(b.charger_id, "online")] = float(online)
            record[col.hil_column(b.charger_id, "degraded")] = float(degraded)
        ev_needs: dict[str, dict[int, tuple[float | None, float | None]]] = {}
        for b, depart_s, energy_kwh in link.ev_needs(time):
            ev_needs.setdefault(b.fleet, {})[b.index] = (depart_s, energy_kwh)
        self._out = {
            "measured_kw": measured,
            "ev_needs": ev_needs,
            "offline": offline,
            "record": record,
        }
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        return {eid: {a: self._out.get(a) for a in attrs} for eid, attrs in outputs.items()}
