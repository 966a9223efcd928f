"""What this installation knows, bound into the scenario loader.

The schema (twin.config) is a leaf; the registries live with what they register: EMS services
in twin/ems/services/ (one file each, found by the registry), signals in twin/signals/, grids in
grids/, charger protocols in adapters/registry.py. This module hands them to the loader as
`ScenarioRules`, so `load_scenario` here checks a study against everything that is installed.
Kept light: `twin validate` imports it, so nothing here may load pandapower, mosaik or numba.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twin.config import DEFAULT_SCENARIO, loader
from twin.config.errors import ScenarioError
from twin.config.rules import Loc, ScenarioRules
from twin.config.schema import HardwareBinding, Scenario, SignalsSpec

__all__ = ["DEFAULT_SCENARIO", "ScenarioError", "load_scenario", "scenario_rules"]


def _grid_problem(name: str) -> str | None:
    from grids import UnknownGridError, check_grid_name

    try:
        check_grid_name(name)
    except UnknownGridError as err:
        return str(err)
    return None


def _signal_problems(signals: SignalsSpec) -> list[tuple[Loc, str]]:
    from twin.signals.scenario_signals import signal_problems

    return signal_problems(signals)


def _binding_problems(binding: HardwareBinding) -> list[tuple[str, str]]:
    from adapters.registry import binding_problems

    return binding_problems(binding)


def _protocol_names() -> tuple[str, ...]:
    from adapters.registry import protocol_names

    return tuple(protocol_names())


def scenario_rules() -> ScenarioRules:
    """The installed services, charger protocols and domain checks (services are collected at
    each call, so a service defined after the first load is still found)."""
    from twin.ems.services.registry import service_specs

    return ScenarioRules(
        service_specs=service_specs(),
        protocols=_protocol_names(),
        grid_problem=_grid_problem,
        signal_problems=_signal_problems,
        binding_problems=_binding_problems,
    )


def load_scenario(path: Path | str, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file against everything installed (ScenarioError if not)."""
    return loader.load_scenario(path, overrides, scenario_rules())


def validate_scenario_data(data: Any, path: Path | str = "<scenario>") -> Scenario:
    """Validate parsed scenario data against everything installed (ScenarioError if not)."""
    return loader.validate_scenario_data(data, path, scenario_rules())
