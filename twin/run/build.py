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


@dataclass
class GridViews:
    """What the run needs besides the plant's power flow to see its grid: the baseline's and the
    no-EV reference power flows, the violation tallies, generation kinds, the EMS's grid model
    (attached when a service or a discharge policy needs it) and what summary.json says of them."""

    baseline_pf: Any
    reference_pf: Any
    violations: Any
    sgen_kinds: dict[str, np.ndarray]
    element_ids: dict[str, np.ndarray]
    element_names: dict[str, list[str]]
    grid_facts: dict[str, Any]
    ems_model: Any = None

    def sim_params(self) -> dict[str, Any]:
        return {
            "baseline_powerflow": self.baseline_pf,
            "reference_powerflow": self.reference_pf,
            "violations": self.violations,
            "sgen_kinds": self.sgen_kinds,
        }


def needs_grid_model(scenario: Scenario) -> bool:
    """A grid-protection service, or a fleet whose discharge stays behind the meter."""
    return any(s.type == "grid_protection" for s in scenario.ems.services) or any(
        f.discharge == "behind_the_meter" for f in scenario.fleets.values()
    )


def load_envelopes(scenario: Scenario, net: Any) -> list[Any]:
    """The scenario's operating envelopes as per-step arrays; a bad element or file is a
    ScenarioError at `grid.envelopes.<i>`."""
    from twin.ems.grid_model import Envelope
    from twin.signals.csv_source import load_signal_csv
    from twin.signals.errors import SignalConfigError, SignalFileError

    out = []
    start = scenario.start_local
    for i, spec in enumerate(scenario.grid.envelopes):
        kind, _, ident = spec.element.partition(":")
        table = net.trafo if kind == "trafo" else net.bus
        ids = table.index.to_numpy()
        if int(ident) not in ids:
            raise _scenario_problem(
                scenario,
                f"grid.envelopes.{i}.element",
                ValueError(f"{spec.element}: no {kind} with id {ident} in this grid"),
            )
        arrays = []
        for column in ("envelope_import", "envelope_export"):
            try:
                arrays.append(
                    load_signal_csv(spec.path, column, start, scenario.step, scenario.n_steps)
                )
            except (SignalFileError, SignalConfigError) as err:
                raise _scenario_problem(scenario, f"grid.envelopes.{i}.path", err) from None
        out.append(Envelope(kind, int(np.flatnonzero(ids == int(ident))[0]), spec.element, *arrays))
    return out


def build_grid_views(
    scenario: Scenario,
    net: Any,
    profiles: Any,
    bus_pos: dict[str, np.ndarray],
    ems: EnergyManagementSystem,
) -> GridViews:
    from grids import PowerFlow
    from grids.ems_view import PowerFlowGridModel
    from grids.limits import grid_limits
    from grids.profiles import SIMBENCH_STEP_S, simbench_offset_s
    from twin.ems.grid_access import GridAccess
    from twin.metrics.grid_violations import GridViolations

    spec = scenario.grid.limits
    limits = grid_limits(
        net,
        preset=spec.preset,
        line_max_loading_pct=spec.line_max_loading_pct,
        trafo_max_loading_pct=spec.trafo_max_loading_pct,
        voltage_bands=(
            None
            if spec.voltage_bands is None
            else [(b.up_to_kv, b.vm_min_pu, b.vm_max_pu) for b in spec.voltage_bands]
        ),
    )
    backend = scenario.grid.backend
    baseline = scenario.outputs.baseline_grid
    views = GridViews(
        baseline_pf=PowerFlow(net, backend=backend) if baseline else None,
        reference_pf=PowerFlow(net, backend=backend),
        violations=GridViolations.for_run(limits, scenario.step, baseline=baseline),
        sgen_kinds=sgen_kinds(net),
        element_ids={
            "trafo": net.trafo.index.to_numpy(),
            "line": net.line.index.to_numpy(),
            "voltage": net.bus.index.to_numpy(),
        },
        element_names={
            "trafo": [str(x) for x in net.trafo["name"]],
            "line": [str(x) for x in net.line["name"]],
            "voltage": [str(x) for x in net.bus["name"]],
        },
        grid_facts={
            "profiles": profiles.source,
            "load_scale": scenario.grid.load_scale,
            "pv_scale": scenario.grid.pv_scale,
        },
    )
    if profiles.source == "simbench":
        first = simbench_offset_s(scenario.start_local) / SIMBENCH_STEP_S
        views.grid_facts["simbench_profile_rows"] = {
            "first_row": first,
            "rule": (
                "model step k covers SimBench rows [first_row + k*step_s/900, first_row + "
                "(k+1)*step_s/900) (15-min rows of 2016, row 0 = 1 January 00:00 local, wrapping "
                "after 35136 rows); each load/sgen value is the mean of the rows' step function "
                "over that interval, times load_scale (loads) or pv_scale (PV sgens)"
            ),
        }
    envelopes = load_envelopes(scenario, net)
    if needs_grid_model(scenario) or envelopes:
        model = PowerFlowGridModel(
            net,
            profiles,
            limits,
            np.concatenate(list(bus_pos.values())),
            backend=backend,
            envelopes=envelopes,
        )
        btm = frozenset(n for n, f in scenario.fleets.items() if f.discharge == "behind_the_meter")
        ems.attach_grid(GridAccess(model, bus_pos, btm))
        views.ems_model = model
    return views


def sgen_kinds(net: Any) -> dict[str, np.ndarray]:
    """Boolean masks over the net's static generators: `pv` and `wind` by their type/profile
    name (SimBench: "PV", "PV_MV", "Wind_MV", ...; lv_RES profiles are rooftop PV)."""
    text = np.array([""] * len(net.sgen), dtype=object)
    for column in ("type", "profile"):
        if column in net.sgen:
            text = text + " " + net.sgen[column].astype(str).str.lower().to_numpy(dtype=object)
    pv = np.array(["pv" in t or "lv_res" in t or "solar" in t for t in text], dtype=bool)
    wind = np.array(["wind" in t for t in text], dtype=bool) & ~pv
    return {"pv": pv, "wind": wind}
