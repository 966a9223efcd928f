"""mosaik wrapper of twin.fleet: one entity per fleet (aggregate), never one per EV.

Entity params: `fleet` (twin.fleet.model.Fleet), `bus_pos` (grid bus position of each EV),
`n_bus`, `baseline` (if True the entity charges uncontrolled by itself: the counterfactual).
Inputs: `setpoints_kw` and optional `measured_kw` (each a dict fleet name -> per-EV array; NaN in
`measured_kw` = not measured).
Outputs: `view` (FleetView after the step = state at the next step start), `p_kw`,
`p_bus_mw` (per-bus array, + consumption), `plugged_count`, `soc_mean`, `fleet` (the model),
`record` (scalar columns for the results table), `detail` (per-EV power and SOC, for
`outputs.per_ev`).
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np

from twin.ems.feasibility import feasible_range
from twin.fleet.model import Fleet
from twin.results import columns as col
from twin.results.records import ev_detail, fleet_record

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Fleet": {
            "public": True,
            "params": ["fleet", "bus_pos", "n_bus", "baseline"],
            "attrs": [
                "setpoints_kw",
                "measured_kw",
                "ev_needs",
                "view",
                "p_kw",
                "p_bus_mw",
                "plugged_count",
                "soc_mean",
                "fleet",
                "record",
                "detail",
            ],
        }
    },
}


class FleetSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.entities: dict[str, dict[str, Any]] = {}
        self.step_s = 1

    def init(self, sid: str, time_resolution: float = 1.0, step_s: int = 1) -> dict:
        self.step_s = step_s
        return self.meta

    def create(
        self,
        num: int,
        model: str,
        fleet: Fleet,
        bus_pos: np.ndarray,
        n_bus: int,
        baseline: bool = False,
    ) -> list[dict]:
        eid = col.baseline_entity(fleet.name) if baseline else fleet.name
        self.entities[eid] = {
            "fleet": fleet,
            "bus_pos": bus_pos,
            "n_bus": n_bus,
            "baseline": baseline,
            "p_kw": np.zeros(fleet.table.count),
        }
        return [{"eid": eid, "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        for eid, ent in self.entities.items():
            fleet: Fleet = ent["fleet"]
            if ent["baseline"]:
                setpoints = feasible_range(fleet.view(), self.step_s).hi_kw
            else:
                received = inputs.get(eid, {}).get("setpoints_kw", {})
                setpoints = (
                    next(iter(received.values()))[fleet.name]
                    if received
                    else np.zeros(fleet.table.count)
                )
            needs = inputs.get(eid, {}).get("ev_needs", {})
            for index, (depart_s, energy_kwh) in (
                next(iter(needs.values())).get(fleet.name, {}).items() if needs else ()
            ):
                fleet.apply_ev_needs(index, depart_s, energy_kwh)
            measured = inputs.get(eid, {}).get("measured_kw", {})
            measured_kw = next(iter(measured.values())).get(fleet.name) if measured else None
            ent["p_kw"] = fleet.step(setpoints, measured_kw)
        return time + self.step_s

    def get_data(self, outputs: dict) -> dict:
        data: dict[str, dict[str, Any]] = {}
        for eid, attrs in outputs.items():
            ent = self.entities[eid]
            fleet: Fleet = ent["fleet"]
            values = {
                "view": lambda f=fleet: f.view(),
                "p_kw": lambda f=fleet: f.totals.p_kw,
                "p_bus_mw": lambda e=ent: (
                    np.bincount(e["bus_pos"], weights=e["p_kw"], minlength=e["n_bus"]) / 1000.0
                ),
                "plugged_count": lambda f=fleet: f.totals.plugged_count,
                "soc_mean": lambda f=fleet: f.totals.soc_mean,
                "fleet": lambda f=fleet: f,
                "record": lambda e=eid, f=fleet: fleet_record(e, f),
                "detail": lambda f=fleet, ent=ent: ev_detail(f.name, f, ent["p_kw"]),
            }
            data[eid] = {attr: values[attr]() for attr in attrs}
        return data
