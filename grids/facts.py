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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grids.site_checks import GridFacts

if TYPE_CHECKING:
    pass

FACTS_VERSION = 1


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
    from grids.sites import facts_of_net

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
