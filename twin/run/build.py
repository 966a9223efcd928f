"""The models of a run, built from its scenario: grid, fleets with their baseline shadows, EMS.

Plain objects, no mosaik: the wirings (twin/run/wiring.py) put them into a World, and the naive
benchmark build reuses them. A problem only building can find (grid parameters, site buses) is
a ScenarioError naming the field.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.config import ScenarioError
from twin.config.schema import Scenario
from twin.ems.controller import EnergyManagementSystem
from twin.ems.services import Uncontrolled, build_service
from twin.fleet.build import create_fleet, n_sites
from twin.fleet.model import Fleet


def build_ems(scenario: Scenario) -> EnergyManagementSystem:
    services = [build_service(s) for s in scenario.ems.services] or [Uncontrolled()]
    return EnergyManagementSystem(services, allocation=scenario.ems.allocation)


def site_seed(seed: int, fleet_name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(fleet_name.encode())) % (2**31)


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
            net, n_sites(spec), explicit, site_seed(scenario.seed, fleet_name)
        )
    except GridError as err:
        raise _scenario_problem(scenario, f"fleets.{fleet_name}.sites", err) from None


@dataclass
class RunFleets:
    """Each fleet, its uncontrolled shadow (same table and sessions) and its EVs' bus positions."""

    fleets: dict[str, Fleet]
    baselines: dict[str, Fleet]
    bus_pos: dict[str, np.ndarray]


def build_fleets(scenario: Scenario, net: Any, powerflow: Any, start: dt.datetime) -> RunFleets:
    """Fleets of the scenario and their baseline shadows, placed on the grid's buses."""
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

    return RunFleets(fleets, baselines, bus_pos)
