"""What the domain packages tell the schema: the registered services and charger protocols, and
the checks that need a domain model (grid names, signal parameters, protocol bindings).

The schema is a leaf: it imports no domain package. Instead the loader passes a `ScenarioRules`
as pydantic validation context (`twin.catalog` assembles the one this installation has), so a new
service, signal or charger protocol never edits the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin.config.schema import HardwareBinding, ServiceSpec, SignalsSpec

Loc = tuple[str | int, ...]


def _no_problems(*_: Any) -> list[Any]:
    return []


def _no_grid_problem(_: str) -> str | None:
    return None


@dataclass(frozen=True)
class ScenarioRules:
    service_specs: Mapping[str, type[ServiceSpec]] = field(default_factory=dict)
    """Service `type` -> its spec class (each service's spec lives beside the service)."""
    protocols: Sequence[str] = ()
    """Charger protocol names a `hardware:` binding may use (`adapters.registry`)."""
    grid_problem: Callable[[str], str | None] = _no_grid_problem
    """Why a grid name cannot be built, or None."""
    signal_problems: Callable[[SignalsSpec], list[tuple[Loc, str]]] = _no_problems
    """Every problem of the signal entries, field paths relative to `signals`."""
    binding_problems: Callable[[HardwareBinding], list[tuple[str, str]]] = _no_problems
    """The protocol's own checks of a binding: (field, message) pairs."""
