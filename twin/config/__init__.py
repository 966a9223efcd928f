"""The scenario schema and its loader: a leaf package (pydantic + YAML, no domain imports).

Use `twin.catalog.load_scenario` to load a study: it passes the installed services, signals,
grids and charger protocols (`ScenarioRules`) to `twin.config.loader.load_scenario`.
"""

from twin.config.errors import ScenarioError
from twin.config.loader import (
    apply_override,
    apply_overrides,
    read_scenario_data,
    scenario_as_run,
)
from twin.config.rules import ScenarioRules
from twin.config.schema import DEFAULT_SCENARIO, Scenario, ServiceSpec

__all__ = [
    "DEFAULT_SCENARIO",
    "Scenario",
    "ScenarioError",
    "ScenarioRules",
    "ServiceSpec",
    "apply_override",
    "apply_overrides",
    "read_scenario_data",
    "scenario_as_run",
]
