"""Build and run the mosaik World of a scenario: grid, fleets (+ baseline shadows), EMS, signals,
recorder. Virtual runs go as fast as possible; real-time runs are paced by a WallClockPacer in the
EMS step (twin/run/pacing.py says why not mosaik's own rt_factor).

Two wirings (docs/architecture.md): virtual runs step `block_steps` model steps per mosaik step
with fleets and EMS in one simulator (twin/run/control_loop.py); HIL and real-time runs step one model
step per mosaik step with FleetSim, EmsSim and HardwareSim apart. Both give the same results.

Cycles and why they are closed as they are:
- fleet -> EMS (per-step wiring) is `time_shifted`: a fleet's output after stepping [t, t+dt)
  *is* its state at t+dt, which is exactly what the EMS must see at t+dt. initial_data carries
  the state at t=0. EMS -> fleet is direct: set-points decided at t apply over [t, t+dt).
- grid -> EMS is `time_shifted`: the EMS sees the last solved grid state (one mosaik step old), as
  a real EMS sees the last measurement; there is no algebraic loop to iterate.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mosaik
import numpy as np

from twin.config import ScenarioError, scenario_as_run
from twin.config.schema import Scenario
from twin.ems.controller import EnergyManagementSystem
from twin.ems.services import Uncontrolled, build_service
from twin.fleet.build import create_fleet, n_sites
from twin.fleet.model import Fleet
from twin.results import columns as col
from twin.results.kpis import compute_kpis
from twin.results.records import ev_detail_tables
from twin.results.store import (
    RunRecorder,
    library_versions,
    read_table,
    write_json,
    write_scenario,
)
from twin.run.control_loop import FleetControlLoop
from twin.run.hardware_link import HardwareLink, LatenessMeter
from twin.run.pacing import WallClockPacer
from twin.signals.scenario_signals import build_signal_series
from twin.signals.timebase import local_clock
from twin.sims.recorder_sim import StepObserver

SIM_CONFIG = {
    "FleetSim": {"python": "twin.sims.fleet_sim:FleetSim"},
    "EmsSim": {"python": "twin.sims.ems_sim:EmsSim"},
    "GridSim": {"python": "twin.sims.grid_sim:GridSim"},
    "SignalSim": {"python": "twin.sims.signal_sim:SignalSim"},
    "RecorderSim": {"python": "twin.sims.recorder_sim:RecorderSim"},
    "HardwareSim": {"python": "twin.sims.hardware_sim:HardwareSim"},
    "FleetControlSim": {"python": "twin.sims.fleet_control_sim:FleetControlSim"},
}


@dataclass
class RunOutcome:
    out_dir: Path
    summary: dict[str, Any]
    fleets: dict[str, Fleet] = field(default_factory=dict)
    baselines: dict[str, Fleet] = field(default_factory=dict)


def build_ems(scenario: Scenario) -> EnergyManagementSystem:
    services = [build_service(s) for s in scenario.ems.services] or [Uncontrolled()]
    return EnergyManagementSystem(services, allocation=scenario.ems.allocation)


def _site_seed(seed: int, fleet_name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(fleet_name.encode())) % (2**31)


@dataclass
class PreparedRun:
    """A built but not yet run co-simulation: everything a test may want to inspect per step."""

    scenario: Scenario
    out_dir: Path
    world: Any
    fleets: dict[str, Fleet]
    baselines: dict[str, Fleet]
    recorder: RunRecorder
    powerflow: Any
    profiles: Any
    bus_pos: dict[str, np.ndarray]
    base_summary: dict[str, Any]
    wall_start: float
    observers: list[StepObserver] = field(default_factory=list)
    """Called after each recorded step with (row, detail); append before run()."""
    hardware: Any = None
    """The HIL link (twin.run.hardware_link.HardwareLink) when the scenario binds physical chargers."""
    hil_events: list[dict] | None = None
    pacer: WallClockPacer = field(default_factory=WallClockPacer)
    """Paces the EMS step in real-time runs (enabled by run(rt_factor=...))."""
    block_steps: int = 1
    """Model steps per mosaik step (block_steps_of); observers of a block run after all of it."""

    def run(self, rt_factor: float | None = None, progress: bool = True) -> RunOutcome:
        """Run to the end and write results (see run_scenario)."""
        scenario, out_dir, recorder = self.scenario, self.out_dir, self.recorder
        status = "completed"
        summary = dict(self.base_summary)
        lateness = LatenessMeter(rt_factor, pacer=self.pacer) if rt_factor else None
        if lateness is not None:
            self.observers.append(lateness)
        try:
            if self.hardware is not None:
                self.hardware.start()
            # Lateness (wall clock behind simulated time) is measured and reported as p50/p99
            # in summary.json.
            self.pacer.start(rt_factor)
            self.world.run(until=scenario.duration, print_progress=progress)
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except Exception as exc:
            # A crash (or a problem found only when running, e.g. the CSMS port is taken) is not
            # a finished run: the recorded rows stay readable (parts) and the summary says why.
            status, why = failure_summary(exc)
            summary.update(why)
            raise
        finally:
            recorder.flush()
            if status == "completed":
                recorder.finalize()
            else:
                # mosaik leaves its loop half-way on Ctrl-C; close it so the process can exit.
                with contextlib.suppress(Exception):
                    self.world.shutdown()
            if self.hardware is not None:
                with contextlib.suppress(Exception):
                    self.hardware.stop()
                events = list(self.hil_events or [])
                write_json(out_dir / "hil_events.json", {"events": events})
                summary["hil"] = {
                    "chargers": [b.charger_id for b in self.hardware.bindings],
                    "events": len(events),
                }
            if lateness is not None:
                summary["realtime"] = {"rt_factor": rt_factor, **lateness.summary()}
            summary["status"] = status
            summary["wall_time_s"] = round(time.perf_counter() - self.wall_start, 3)
            try:
                table = read_table(out_dir, "timeseries")
                summary["steps"] = len(table)
                summary["kpis"] = compute_kpis(
                    scenario, table, self.fleets, grid_sim_nonconverged(table)
                )
            except Exception as err:  # noqa: BLE001 - a summary must be written even if KPIs fail
                summary["kpis_error"] = str(err)
            write_json(out_dir / "summary.json", summary)
        return RunOutcome(
            out_dir=out_dir, summary=summary, fleets=self.fleets, baselines=self.baselines
        )


def failure_summary(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """Status and fields for summary.json of a run that did not finish: `invalid` with the
    scenario's problems, or `failed` with the error."""
    if isinstance(exc, ScenarioError):
        return "invalid", {"errors": exc.lines()}
    return "failed", {"error": f"{type(exc).__name__}: {exc}"}


def _scenario_problem(scenario: Scenario, field_path: str, err: Exception) -> ScenarioError:
    return ScenarioError(scenario.source, [(field_path, str(err))])


def build_scenario_grid(scenario: Scenario) -> Any:
    """The scenario's pandapower net; a grid the builder refuses is a ScenarioError at `grid`."""
    from grids import build_grid
    from grids.errors import GridError

    try:
        return build_grid(scenario.grid.name, **scenario.grid.params)
    except GridError as err:
        path = "grid.params" if scenario.grid.params else "grid.name"
        raise _scenario_problem(scenario, path, err) from None


def scenario_site_buses(scenario: Scenario, net: Any, fleet_name: str) -> np.ndarray:
    """Bus id per charging site of one fleet; a bad explicit bus is a ScenarioError at its sites."""
    from grids import assign_sites_to_buses
    from grids.errors import GridError

    spec = scenario.fleets[fleet_name]
    explicit = spec.sites if isinstance(spec.sites, list) else None
    try:
        return assign_sites_to_buses(
            net, n_sites(spec), explicit, _site_seed(scenario.seed, fleet_name)
        )
    except GridError as err:
        raise _scenario_problem(scenario, f"fleets.{fleet_name}.sites", err) from None


def check_grid(scenario: Scenario) -> None:
    """Build the grid and place every fleet's sites once (for `twin validate`); raises ScenarioError."""
    net = build_scenario_grid(scenario)
    for name in scenario.fleets:
        scenario_site_buses(scenario, net, name)


def block_steps_of(scenario: Scenario, realtime: bool = False) -> int:
    """Model steps per mosaik step: the scenario's `block_steps` for virtual runs, 1 when
    hardware is bound (the hardware simulator sits between EMS and fleet every step) or the run
    is paced by the wall clock (every step is due at its own time)."""
    if scenario.hardware or realtime:
        return 1
    return max(1, min(scenario.block_steps, scenario.n_steps))


def prepare_run(
    scenario: Scenario,
    out_dir: Path,
    *,
    observers: list[StepObserver] | None = None,
    realtime: bool = False,
) -> PreparedRun:
    """Build grid, fleets, EMS and the mosaik World; write scenario.yaml and a 'running' summary.

    `realtime`: the run will be paced (run(rt_factor=...)), so it steps one model step per
    mosaik step (block_steps_of).

    Raises:
        ScenarioError: something only building the run can find (grid parameters, site buses,
            signal files); summary.json then says `"status": "invalid"` with the problems.
    """
    try:
        return _build_run(
            scenario,
            Path(out_dir),
            observers if observers is not None else [],
            block_steps_of(scenario, realtime),
        )
    except Exception as err:
        status, why = failure_summary(err)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        write_json(
            Path(out_dir) / "summary.json", {"scenario": scenario.name, "status": status, **why}
        )
        raise


def _build_run(
    scenario: Scenario, out_dir: Path, observers: list[StepObserver], block: int
) -> PreparedRun:
    from grids import GridProfiles, PowerFlow

    wall_start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_scenario(out_dir / "scenario.yaml", scenario_as_run(scenario))
    base_summary: dict[str, Any] = {
        "scenario": scenario.name,
        "status": "running",
        "seed": scenario.seed,
        "start": scenario.start_local.isoformat(),
        "step_s": scenario.step,
        "steps": 0,
        "steps_planned": scenario.n_steps,
        "ev_count": scenario.ev_count,
        "versions": library_versions(),
    }
    write_json(out_dir / "summary.json", base_summary)

    start = scenario.start_local
    net = build_scenario_grid(scenario)
    powerflow = PowerFlow(net, backend=scenario.grid.backend)
    profiles = GridProfiles.for_net(
        net,
        start,
        scenario.step,
        scenario.n_steps,
        load_scale=scenario.grid.load_scale,
        pv_scale=scenario.grid.pv_scale,
        seed=scenario.seed,
    )
    n_bus = len(powerflow.bus_ids)

    fleets: dict[str, Fleet] = {}
    baselines: dict[str, Fleet] = {}
    bus_pos: dict[str, np.ndarray] = {}
    for name, spec in scenario.fleets.items():
        fleets[name] = create_fleet(
            name, spec, start, scenario.duration, scenario.step, scenario.seed
        )
        # Same draws as the controlled fleet: share its read-only table and sessions instead of
        # drawing them again (a year of sessions for 10,000 EVs is ~100 MB per copy).
        baselines[name] = Fleet.create(
            name,
            fleets[name].table,
            fleets[name].sessions,
            fleets[name].state.soc_initial,
            scenario.step,
        )
        site_buses = scenario_site_buses(scenario, net, name)
        bus_pos[name] = powerflow.positions_of_buses(site_buses)[fleets[name].table.site]

    series = build_signal_series(
        scenario
    )  # before the World: a bad signal file leaves nothing open
    recorder = RunRecorder(out_dir, chunk_steps=scenario.outputs.chunk_steps)
    world = mosaik.World(SIM_CONFIG, skip_greetings=True, configure_logging=False)
    timing = {"step_s": scenario.step, "block_steps": block, "n_steps": scenario.n_steps}
    grid = world.start("GridSim", **timing).Grid(powerflow=powerflow, profiles=profiles)
    signals = world.start("SignalSim", **timing).Signals(series=series)
    detail_tables: dict[str, tuple[str, list[str]]] = {}
    if scenario.outputs.grid_detail:
        buses = [str(b) for b in powerflow.bus_ids]
        ids = {
            "vm_pu": buses,
            "ev_p_mw": buses,
            "line_loading_pct": [str(i) for i in powerflow.line_ids],
            "trafo_loading_pct": [str(i) for i in powerflow.trafo_ids],
        }
        detail_tables |= {key: (col.GRID_DETAIL_TABLES[key], ids[key]) for key in ids}
    per_ev = scenario.outputs.per_ev
    if per_ev:
        detail_tables |= ev_detail_tables(fleets)
    rec = world.start("RecorderSim", **timing).Recorder(
        recorder=recorder,
        start_utc=start.astimezone(dt.UTC),
        detail_tables=detail_tables,
        observers=observers,
    )
    pacer = WallClockPacer()
    clock = local_clock(start, scenario.step, scenario.n_steps)
    ems = build_ems(scenario)
    link, hil_events = None, None
    if block > 1:
        # Fleets and EMS in one simulator, a block of model steps per mosaik step.
        loop = FleetControlLoop(
            fleets,
            baselines,
            ems,
            bus_pos,
            n_bus,
            clock.second_of_day,
            scenario.step,
            per_ev=per_ev,
        )
        control = world.start("FleetControlSim", **timing).FleetControl(loop=loop, pacer=pacer)
        world.connect(signals, control, ("block", "signals"))
        world.connect(control, grid, "p_bus_mw")
        world.connect(control, rec, "record")
        if per_ev:
            world.connect(control, rec, "detail")
        world.connect(
            grid, control, ("state", "grid"), time_shifted=True, initial_data={"state": {}}
        )
    else:
        link, hil_events = _wire_stepwise(
            world,
            scenario,
            fleets,
            baselines,
            ems,
            bus_pos,
            n_bus,
            clock.second_of_day,
            pacer,
            grid,
            signals,
            rec,
        )
    world.connect(signals, rec, "record")
    world.connect(grid, rec, "record")
    if scenario.outputs.grid_detail:
        world.connect(grid, rec, "detail")
    return PreparedRun(
        scenario=scenario,
        out_dir=out_dir,
        world=world,
        fleets=fleets,
        baselines=baselines,
        recorder=recorder,
        powerflow=powerflow,
        profiles=profiles,
        bus_pos=bus_pos,
        base_summary=base_summary,
        wall_start=wall_start,
        observers=observers,
        hardware=link,
        hil_events=hil_events,
        pacer=pacer,
        block_steps=block,
    )


def _wire_stepwise(
    world: Any,
    scenario: Scenario,
    fleets: dict[str, Fleet],
    baselines: dict[str, Fleet],
    ems: EnergyManagementSystem,
    bus_pos: dict[str, np.ndarray],
    n_bus: int,
    second_of_day_s: np.ndarray,
    pacer: WallClockPacer,
    grid: Any,
    signals: Any,
    rec: Any,
) -> tuple[HardwareLink | None, list[dict] | None]:
    """One mosaik step per model step, fleets and EMS as their own simulators, and the hardware
    simulator between them when chargers are physical. Returns the HIL link and its event list."""
    step = scenario.step
    fleet_sim = world.start("FleetSim", step_s=step)
    ems_entity = world.start("EmsSim", step_s=step).EMS(
        ems=ems, second_of_day_s=second_of_day_s, pacer=pacer
    )
    ctrl_entities = {}
    for name in scenario.fleets:
        ctrl = ctrl_entities[name] = fleet_sim.Fleet(
            fleet=fleets[name], bus_pos=bus_pos[name], n_bus=n_bus
        )
        base = fleet_sim.Fleet(
            fleet=baselines[name], bus_pos=bus_pos[name], n_bus=n_bus, baseline=True
        )
        world.connect(ems_entity, ctrl, "setpoints_kw")
        world.connect(
            ctrl, ems_entity, "view", time_shifted=True, initial_data={"view": fleets[name].view()}
        )
        world.connect(ctrl, grid, "p_bus_mw")
        world.connect(ctrl, rec, "record")
        if scenario.outputs.per_ev:
            world.connect(ctrl, rec, "detail")
        world.connect(base, rec, "record")
    link = None
    hil_events: list[dict] | None = None
    if scenario.hardware:
        link = HardwareLink(scenario)
        hw_sim = world.start("HardwareSim", step_s=step)
        hil_events = []
        hw = hw_sim.Hardware(
            link=link, fleet_sizes={n: f.table.count for n, f in fleets.items()}, events=hil_events
        )
        world.connect(ems_entity, hw, "setpoints_kw")
        world.connect(hw, ems_entity, "offline", time_shifted=True, initial_data={"offline": {}})
        world.connect(hw, rec, "record")
        for name in scenario.fleets:
            world.connect(hw, ctrl_entities[name], "measured_kw")
    world.connect(signals, ems_entity, ("values", "signals"))
    world.connect(
        grid, ems_entity, ("state", "grid"), time_shifted=True, initial_data={"state": {}}
    )
    world.connect(ems_entity, rec, "record")
    return link, hil_events


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    rt_factor: float | None = None,
    progress: bool = True,
    observers: list[StepObserver] | None = None,
) -> RunOutcome:
    """Run the co-simulation and write results to `out_dir`; returns the summary.

    A KeyboardInterrupt (Ctrl-C, SIGTERM via the CLI) stops the run: rows recorded so far are
    flushed and summary.json says `"status": "interrupted"`; the exception is then re-raised.
    """
    return prepare_run(scenario, out_dir, observers=observers).run(
        rt_factor=rt_factor, progress=progress
    )


def grid_sim_nonconverged(table: Any) -> int:
    if col.GRID_CONVERGED not in table:
        return 0
    return int((table[col.GRID_CONVERGED] < 0.5).sum())
