"""The checks of charging-site buses against what is known of a grid (GridFacts): the same
checks for a built net (grids.sites) and for `twin validate`'s cached facts (grids.facts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grids.errors import InvalidBusError


@dataclass(frozen=True)
class GridFacts:
    """Bus ids of a grid and whether automatic site placement has buses to use."""

    bus_ids: frozenset[int]
    out_of_service: frozenset[int]
    has_candidates: bool

    @property
    def bus_range(self) -> tuple[int, int]:
        return min(self.bus_ids), max(self.bus_ids)


def check_site_buses(
    facts: GridFacts, n_sites: int, explicit: Sequence[int | None] | None = None
) -> None:
    """The checks of explicit site buses (grids.sites.assign_sites_to_buses runs these too).

    Raises:
        InvalidBusError: wrong number of entries, a bus id that is not an integer, not in the
            grid or out of service, or no bus for automatic placement.
    """
    if n_sites < 0:
        raise InvalidBusError(f"n_sites must be >= 0, got {n_sites}")
    if explicit is None:
        explicit = [None] * n_sites
    if len(explicit) != n_sites:
        raise InvalidBusError(
            f"explicit site buses: got {len(explicit)} entries for {n_sites} sites; give one bus "
            "id (or null for automatic placement) per site"
        )
    for site, bus in enumerate(explicit):
        if bus is None:
            continue
        if isinstance(bus, bool) or not isinstance(bus, int) and not hasattr(bus, "__index__"):
            raise InvalidBusError(f"site {site}: bus id {bus!r} is not an integer")
        if int(bus) not in facts.bus_ids:
            lo, hi = facts.bus_range
            raise InvalidBusError(
                f"site {site}: bus {bus} does not exist in the grid (bus ids range {lo}..{hi})"
            )
        if int(bus) in facts.out_of_service:
            raise InvalidBusError(f"site {site}: bus {bus} is out of service")
    if any(b is None for b in explicit) and not facts.has_candidates:
        raise InvalidBusError("the grid has no bus to place charging sites on")
