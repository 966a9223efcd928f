"""Build and run the naive reference World of a scenario: one mosaik entity per EV (controlled and
baseline), a central EMS fed attribute by attribute, a pandapower grid with `runpp` per step.

Fleets, sessions, sites and grid profiles come from the same code and seed as the twin
(twin.fleet.build, grids), so both builds simulate the same thing and their fleet powers agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import mosaik
import numpy as np

from benchmarks.naive.ev_model import ScalarEV
from twin.config.schema import Scenario
from twin.fleet.build import create_fleet, n_sites
from twin.run.build import build_ems
from twin.run.build import site_seed as _site_seed
from twin.signals.scenario_signals import build_signal_series

SIM_CONFIG: mosaik.SimConfig = {
    "EvSim": {"python": "benchmarks.naive.ev_sim:EvSim"},
    "EmsSim": {"python": "benchmarks.naive.ems_sim:NaiveEmsSim"},
    "GridSim": {"python": "benchmarks.naive.grid_sim:NaiveGridSim"},
    "SignalSim": {"python": "twin.sims.signal_sim:SignalSim"},
    "RecorderSim": {"python": "benchmarks.naive.recorder_sim:NaiveRecorderSim"},
}
_EMS_ATTRS = ("soc", "plugged", "p_kw", "depart_s", "target_soc")
_TABLE_FIELDS = (
    "battery_kwh",
    "p_charge_max_kw",
    "p_discharge_max_kw",
    "eta_charge",
    "eta_discharge",
    "soc_floor",
    "soc_target",
    "response_time_s",
    "plug_in_probability",
)
_SESSION_FIELDS = ("arrive_s", "depart_s", "gap_start_s", "away_kwh", "plug_draw")


@dataclass
class NaiveRun:
    """What a naive run measured: build and run wall times, per-step wall times, the rows."""

    setup_s: float
    run_s: float
    steps: int
    entities: int
    step_wall_s: list[float] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


def _scalar_evs(fleet: Any) -> list[ScalarEV]:
    tb, ss = fleet.table, fleet.sessions
    evs = []
    for i in range(tb.count):
        params = {f: float(getattr(tb, f)[i]) for f in _TABLE_FIELDS}
        rows = {f: getattr(ss, f)[i] for f in _SESSION_FIELDS}
        evs.append(ScalarEV(params, rows, float(fleet.state.soc_initial[i]), fleet.step_s))
    return evs


def run_naive(scenario: Scenario, until_s: int) -> NaiveRun:
    """Build the naive World for `scenario` and run it for `until_s` seconds of simulated time."""
    from grids import GridProfiles, PowerFlow, assign_sites_to_buses, build_grid

    t0 = time.perf_counter()
    start, step = scenario.start_local, scenario.step
    net = build_grid(scenario.grid.name, **scenario.grid.params)
    positions = PowerFlow(net, backend="pandapower")  # only to map bus ids to positions
    profiles = GridProfiles.for_net(
        net,
        start,
        step,
        until_s // step,
        load_scale=scenario.grid.load_scale,
        pv_scale=scenario.grid.pv_scale,
        seed=scenario.seed,
    )
    world = mosaik.World(SIM_CONFIG, skip_greetings=True, configure_logging=False)
    ev_sim = world.start("EvSim", step_s=step)
    grid = world.start("GridSim", step_s=step).Grid(net=net, profiles=profiles)
    buses = {e.eid: e for e in grid.children}
    signals = world.start("SignalSim", step_s=step).Signals(series=build_signal_series(scenario))
    recorder = world.start("RecorderSim", step_s=step).Recorder()

    fleets_for_ems: dict[str, tuple[Any, list[str]]] = {}
    ctrl_entities: list[tuple[Any, ScalarEV, int]] = []
    n_entities = 0
    for name, spec in scenario.fleets.items():
        # Full duration: the session draws depend on it, and must equal the twin's.
        fleet = create_fleet(name, spec, start, scenario.duration, step, scenario.seed)
        explicit = spec.sites if isinstance(spec.sites, list) else None
        site_buses = assign_sites_to_buses(
            net, n_sites(spec), explicit, _site_seed(scenario.seed, name)
        )
        bus_pos = positions.positions_of_buses(site_buses)[fleet.table.site]
        ids = []
        for i, (ctrl_ev, base_ev) in enumerate(
            zip(_scalar_evs(fleet), _scalar_evs(fleet), strict=True)
        ):
            ctrl = ev_sim.EV(ev=ctrl_ev, fleet=name)
            base = ev_sim.EV(ev=base_ev, fleet=name, baseline=True)
            world.connect(base, recorder, "p_avg_kw")
            ctrl_entities.append((ctrl, ctrl_ev, int(bus_pos[i])))
            ids.append(ctrl.full_id)
            n_entities += 2
        fleets_for_ems[name] = (fleet.table, ids)

    start_sod = start.hour * 3600 + start.minute * 60 + start.second
    ems = world.start("EmsSim", step_s=step).EMS(
        ems=build_ems(scenario), start_second_of_day=start_sod, fleets=fleets_for_ems
    )
    for ctrl, ev, pos in ctrl_entities:
        initial = {
            "soc": ev.soc,
            "plugged": ev.plugged,
            "p_kw": ev.p_kw,
            "depart_s": ev.depart_view_s(),
            "target_soc": ev.session_target_soc,
        }
        world.connect(ctrl, ems, *_EMS_ATTRS, time_shifted=True, initial_data=initial)
        world.connect(ems, ctrl, "setpoint_kw")
        world.connect(ctrl, buses[f"Bus-{pos}"], "p_mw")
        world.connect(ctrl, recorder, "p_avg_kw")
    world.connect(signals, ems, ("values", "signals"))
    world.connect(grid, ems, ("state", "grid"), time_shifted=True, initial_data={"state": {}})
    world.connect(grid, recorder, "state")

    stamps: list[float] = []
    rec_sim = world.sims[recorder.sid]._proxy.sim  # the in-process instance
    original_step = rec_sim.step

    def timed_step(*args: Any) -> int:
        stamps.append(time.perf_counter())
        return original_step(*args)

    rec_sim.step = timed_step
    t1 = time.perf_counter()
    world.run(until=until_s, print_progress=False)
    t2 = time.perf_counter()
    stamps.append(t2)
    return NaiveRun(
        setup_s=t1 - t0,
        run_s=t2 - t1,
        steps=until_s // step,
        entities=n_entities,
        step_wall_s=list(np.diff(stamps)),
        rows=rec_sim.rows,
    )
