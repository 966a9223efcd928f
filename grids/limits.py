"""The limits of every element of a net: from the grid's own data, a preset, or the scenario.

SimBench nets carry `max_loading_percent` per line and transformer and `min_vm_pu` / `max_vm_pu`
per bus; other nets get 100 % and 0.9-1.1 pu unless the scenario says otherwise. The Japanese
preset (REQUIREMENTS.md, grid context): the 100 V service's 101 +- 6 V (0.95-1.07 pu; the 200 V
service's 202 +- 20 V = 0.91-1.11 pu is wider, so the 100 V band binds) on LV buses, and 6.3-6.9 kV
on 6.6 kV buses (utility practice; an assumption, not a legal limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.ems.grid_model import GridLimits

if TYPE_CHECKING:
    from pandapower import pandapowerNet

DEFAULT_LOADING_PCT = 100.0
DEFAULT_VM_PU = (0.9, 1.1)
JAPAN_BANDS: tuple[tuple[float, float, float], ...] = (
    (1.0, 0.95, 1.07),  # up to 1 kV: 100 V service 101 +- 6 V
    (7.0, 6.3 / 6.6, 6.9 / 6.6),  # 6.6 kV distribution
)
"""(up_to_kv, vm_min_pu, vm_max_pu), the lowest band covering a bus applies."""


def _column(table: Any, name: str, default: float) -> np.ndarray:
    if name in table:
        values = table[name].to_numpy(dtype=float)
        return np.where(np.isfinite(values), values, default)
    return np.full(len(table), default)


def grid_limits(
    net: pandapowerNet,
    preset: str = "grid",
    line_max_loading_pct: float | None = None,
    trafo_max_loading_pct: float | None = None,
    voltage_bands: Sequence[tuple[float, float, float]] | None = None,
) -> GridLimits:
    """Per-element limits, in the net's element order (as PowerFlow's arrays).

    Args:
        preset: "grid" (the net's own limits) or "japan" (JAPAN_BANDS for the voltages).
        line_max_loading_pct, trafo_max_loading_pct: one limit for every line / transformer.
        voltage_bands: (up_to_kv, vm_min_pu, vm_max_pu) per voltage level; buses above every
            band keep the net's own limits.
    """
    line = (
        np.full(len(net.line), float(line_max_loading_pct))
        if line_max_loading_pct is not None
        else _column(net.line, "max_loading_percent", DEFAULT_LOADING_PCT)
    )
    trafo = (
        np.full(len(net.trafo), float(trafo_max_loading_pct))
        if trafo_max_loading_pct is not None
        else _column(net.trafo, "max_loading_percent", DEFAULT_LOADING_PCT)
    )
    vm_min = _column(net.bus, "min_vm_pu", DEFAULT_VM_PU[0])
    vm_max = _column(net.bus, "max_vm_pu", DEFAULT_VM_PU[1])
    bands = (
        voltage_bands if voltage_bands is not None else (JAPAN_BANDS if preset == "japan" else ())
    )
    vn = net.bus["vn_kv"].to_numpy(dtype=float)
    assigned = np.zeros(len(vn), dtype=bool)
    for up_to_kv, lo, hi in sorted(bands):
        here = (vn <= up_to_kv) & ~assigned
        vm_min[here], vm_max[here] = lo, hi
        assigned |= here
    source = "scenario" if voltage_bands is not None else preset
    return GridLimits(vm_min, vm_max, line, trafo, source=source)
