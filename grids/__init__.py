"""Grid models by name, charging-site placement, base-load / PV profiles and a fast power flow.

``build_grid``, ``available_grids``, ``check_grid_name`` and the errors import without loading
pandapower; the other names load their (heavier) modules on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from grids.errors import (
    GridError,
    GridParameterError,
    InvalidBusError,
    PowerFlowInputError,
    ProfileError,
    UnknownGridError,
    UnsupportedGridError,
)
from grids.registry import available_grids, build_grid, check_grid_name

_LAZY = {
    "PowerFlow": "grids.powerflow",
    "PowerFlowResult": "grids.powerflow",
    "GridProfiles": "grids.profiles",
    "assign_sites_to_buses": "grids.sites",
    "load_buses": "grids.sites",
    "build_japan_6kv_feeder": "grids.japan_feeder",
}

__all__ = [
    "GridError",
    "GridParameterError",
    "GridProfiles",
    "InvalidBusError",
    "PowerFlow",
    "PowerFlowInputError",
    "PowerFlowResult",
    "ProfileError",
    "UnknownGridError",
    "UnsupportedGridError",
    "assign_sites_to_buses",
    "available_grids",
    "build_grid",
    "build_japan_6kv_feeder",
    "check_grid_name",
    "load_buses",
]


def __getattr__(name: str) -> Any:
    # PEP 562: heavy modules (pandapower, lightsim2grid) load only when their names are used.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'grids' has no attribute {name!r}")
