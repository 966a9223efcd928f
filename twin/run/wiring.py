"""The two wirings of the same models into a mosaik World (docs/architecture.md says why two).

- Block wiring (virtual runs): one FleetControlSim holds fleets, shadows and EMS and runs
  `block_steps` model steps per mosaik step (twin/run/control_loop.py).
- Per-step wiring (HIL and real-time runs): FleetSim, EmsSim and HardwareSim are their own
  simulators, one mosaik step per model step, so the hardware sits between set-points and
  measured power.

Cycles and why they are closed as they are:
- fleet -> EMS (per-step wiring) is `time_shifted`: a fleet's output after stepping [t, t+dt)
  *is* its state at t+dt, which is exactly what the EMS must see at t+dt. initial_data carries
  the state at t=0. EMS -> fleet is direct: set-points decided at t apply over [t, t+dt).
- grid -> EMS is `time_shifted`: the EMS sees the last solved grid state (one mosaik step old), as
  a real EMS sees the last measurement; there is no algebraic loop to iterate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.config.schema import Scenario
from twin.ems.controller import EnergyManagementSystem
from twin.fleet.model import Fleet
from twin.run.control_loop import FleetControlLoop
from twin.run.hardware_link import HardwareLink
from twin.run.pacing import WallClockPacer

SIM_CONFIG: dict[str, Any] = {
    "FleetSim": {"python": "twin.sims.fleet_sim:FleetSim"},
    "EmsSim": {"python": "twin.sims.ems_sim:EmsSim"},
    "GridSim": {"python": "twin.sims.grid_sim:GridSim"},
    "SignalSim": {"python": "twin.sims.signal_sim:SignalSim"},
    "RecorderSim": {"python": "twin.sims.recorder_sim:RecorderSim"},
    "HardwareSim": {"python": "twin.sims.hardware_sim:HardwareSim"},
    "FleetControlSim": {"python": "twin.sims.fleet_control_sim:FleetControlSim"},
}


def block_steps_of(scenario: Scenario, realtime: bool = False) -> int:
    """Model steps per mosaik step: the scenario's `block_steps` for virtual runs, 1 when
    hardware is bound (the hardware simulator sits between EMS and fleet every step) or the run
    is paced by the wall clock (every step is due at its own time)."""
    if scenario.hardware or realtime:
        return 1
    return max(1, min(scenario.block_steps, scenario.n_steps))


def wire_blocks(
    world: Any,
    timing: dict[str, int],
    fleets: dict[str, Fleet],
    baselines: dict[str, Fleet],
    ems: EnergyManagementSystem,
    bus_pos: dict[str, np.ndarray],
    n_bus: int,
    second_of_day_s: np.ndarray,
    step_s: int,
    per_ev: bool,
    pacer: WallClockPacer,
    grid: Any,
    signals: Any,
    rec: Any,
) -> None:
    """Fleets and EMS in one simulator, a block of model steps per mosaik step."""
    loop = FleetControlLoop(
        fleets, baselines, ems, bus_pos, n_bus, second_of_day_s, step_s, per_ev=per_ev
    )
    control = world.start("FleetControlSim", **timing).FleetControl(loop=loop, pacer=pacer)
    world.connect(signals, control, ("block", "signals"))
    world.connect(control, grid, "p_bus_mw", "baseline_p_bus_mw")
    world.connect(control, rec, "record")
    if per_ev:
        world.connect(control, rec, "detail")
    world.connect(grid, control, ("state", "grid"), time_shifted=True, initial_data={"state": {}})


def wire_stepwise(
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
        world.connect(base, grid, ("p_bus_mw", "baseline_p_bus_mw"))
    link = None
    hil_events: list[dict] | None = None
    if scenario.hardware:
        link = HardwareLink(scenario)
        access = ems.grid_access
        if access is not None:
            from twin.run.charger_envelopes import charger_envelopes

            link.envelopes = charger_envelopes(access.model, bus_pos, link.bindings)
            link.site_net_load_kw = access.model.site_net_load_kw
        for b in link.bindings:
            # A physical charger's dynamics are not the simulated charger's: the EMS sends it the
            # allocated power, not a set-point corrected for the model's lag.
            ems.lag.mark_unknown(b.fleet, b.index)
        hw_sim = world.start("HardwareSim", step_s=step)
        hil_events = []
        hw = hw_sim.Hardware(
            link=link, fleet_sizes={n: f.table.count for n, f in fleets.items()}, events=hil_events
        )
        world.connect(ems_entity, hw, "setpoints_kw")
        world.connect(hw, ems_entity, "offline", time_shifted=True, initial_data={"offline": {}})
        world.connect(hw, rec, "record")
        for name in scenario.fleets:
            world.connect(hw, ctrl_entities[name], "measured_kw", "ev_needs")
    world.connect(signals, ems_entity, ("values", "signals"))
    world.connect(
        grid, ems_entity, ("state", "grid"), time_shifted=True, initial_data={"state": {}}
    )
    world.connect(ems_entity, rec, "record")
    return link, hil_events
