"""The checks of a scenario that need its grid, fast enough for `twin validate`: the grid's
parameters and every fleet's site buses, against the grid's cached facts (grids.facts), so only
the first check of a grid builds it. Imports no model, no numba, no pandapower."""

from __future__ import annotations

from twin.config import ScenarioError
from twin.config.schema import Scenario


def check_grid(scenario: Scenario) -> None:
    """The grid's parameters and every fleet's site buses, for `twin validate`: checked against
    the grid's cached facts (grids.facts), so only the first check of a grid builds it.

    Raises:
        ScenarioError: at `grid.name`/`grid.params` or `fleets.<name>.sites`.
    """
    from grids.errors import GridError
    from grids.facts import grid_facts
    from grids.site_checks import check_site_buses

    try:
        facts = grid_facts(scenario.grid.name, dict(scenario.grid.params))
    except GridError as err:
        path = "grid.params" if scenario.grid.params else "grid.name"
        raise _problem(scenario, path, err) from None
    except (TypeError, ValueError) as err:
        # A parameter of the wrong type that the builder did not check itself.
        raise _problem(scenario, "grid.params", err) from None
    for name, spec in scenario.fleets.items():
        explicit = spec.sites if isinstance(spec.sites, list) else None
        try:
            n_sites = spec.sites if isinstance(spec.sites, int) else len(spec.sites)
            check_site_buses(facts, n_sites, explicit)
        except GridError as err:
            raise _problem(scenario, f"fleets.{name}.sites", err) from None


def _problem(scenario: Scenario, field_path: str, err: Exception) -> ScenarioError:
    return ScenarioError(scenario.source, [(field_path, str(err))])
