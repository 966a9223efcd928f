"""What validating a scenario needs to know of a grid (its buses), without building it.

Building a grid needs pandapower (~3 s to import) and, for SimBench, the net itself; `twin
validate` has 0.5 s. The facts of a grid (name + parameters) are computed once by building it
and kept in a small JSON file in the grid cache (`$TWIN_CACHE_DIR`, default ~/.cache/ev-twin),
keyed by the name, the parameters, the simbench/pandapower versions and the source of this
package, so a changed builder or library never serves stale facts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grids.errors import InvalidBusError

if TYPE_CHECKING:
    from pandapower import pandapowerNet

FACTS_VERSION = 1


@dataclass(frozen=True)
class GridFacts:
    """Bus ids of a grid and whether automatic site placement has buses to use."""

    bus_ids: frozenset[int]
    out_of_service: frozenset[int]
    has_candidates: bool

    @property
    def bus_range(self) -> tuple[int, int]:
        return min(self.bus_ids), max(self.bus_ids)


def facts_of_net(net: pandapowerNet) -> GridFacts:
    from grids.sites import candidate_buses

    in_service = net.bus["in_service"].astype(bool)
    try:
        has_candidates = candidate_buses(net).size > 0
    except InvalidBusError:
        has_candidates = False
    return GridFacts(
        bus_ids=frozenset(int(b) for b in net.bus.index),
        out_of_service=frozenset(int(b) for b in net.bus.index[~in_service.to_numpy()]),
        has_candidates=has_candidates,
    )


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


def _cache_file(name: str, params: dict[str, Any]) -> Path | None:
    import importlib.metadata

    root = os.environ.get("TWIN_CACHE_DIR", str(Path.home() / ".cache" / "ev-twin"))
    if not root:
        return None
    key = hashlib.sha256()
    versions = {}
    for dist in ("simbench", "pandapower"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "-"
    key.update(
        json.dumps(
            {"v": FACTS_VERSION, "name": name, "params": params, "versions": versions},
            sort_keys=True,
            default=str,
        ).encode()
    )
    for source in sorted(Path(__file__).parent.glob("*.py")):
        key.update(source.read_bytes())
    return Path(root) / "grid_facts" / f"{key.hexdigest()[:32]}.json"


def _read(path: Path) -> GridFacts | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return GridFacts(
            bus_ids=frozenset(int(b) for b in data["bus_ids"]),
            out_of_service=frozenset(int(b) for b in data["out_of_service"]),
            has_candidates=bool(data["has_candidates"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: rebuilt


def grid_facts(name: str, params: dict[str, Any]) -> GridFacts:
    """The facts of `build_grid(name, **params)`, from the cache or by building it once.

    Raises:
        GridError: the builder refuses the name or the parameters (never cached).
    """
    path = _cache_file(name, params)
    if path is not None and (cached := _read(path)) is not None:
        return cached
    from grids.registry import build_grid

    facts = facts_of_net(build_grid(name, **params))
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(
                json.dumps(
                    {
                        "bus_ids": sorted(facts.bus_ids),
                        "out_of_service": sorted(facts.out_of_service),
                        "has_candidates": facts.has_candidates,
                    }
                ),
                encoding="utf-8",
            )
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache only costs time
    return facts
