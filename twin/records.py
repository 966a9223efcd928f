"""Result columns of a fleet and of the EMS after one step: one definition shared by the
per-step simulators (FleetSim, EmsSim) and the block loop (twin.control_loop), so both wirings
write the same table."""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.ems.controller import EmsDecision, EnergyManagementSystem
from twin.fleet.model import Fleet


def soc_stat(fleet: Fleet, stat: Any) -> float:
    # An empty fleet (a 0 % adoption case) has no SOC: NaN, not a crash.
    return float(stat(fleet.state.soc)) if fleet.table.count else float("nan")


def fleet_record(eid: str, fleet: Fleet, p_kw: np.ndarray) -> dict[str, float]:
    """`<eid>.p_kw` (average grid power over the step), plugged count and SOC after it."""
    soc, n = fleet.state.soc, fleet.table.count
    # sum / n is exactly what np.mean computes, at a third of its call overhead.
    return {
        f"{eid}.p_kw": float(p_kw.sum()),
        f"{eid}.plugged_count": int(np.count_nonzero(fleet.plugged)),
        f"{eid}.soc_mean": float(soc.sum()) / n if n else float("nan"),
        f"{eid}.soc_min": float(soc.min()) if n else float("nan"),
    }


def ems_record(decision: EmsDecision | None, ems: EnergyManagementSystem | None) -> dict[str, float]:
    """Target, feasible range, each service's contribution and the services' own numbers."""
    d = decision
    return {
        "ems.target_kw": d.target_kw if d else 0.0,
        "ems.feasible_lo_kw": d.feasible_lo_kw if d else 0.0,
        "ems.feasible_hi_kw": d.feasible_hi_kw if d else 0.0,
        **{f"ems.contribution.{s.name}_kw": (d.contributions_kw.get(s.name, 0.0) if d else 0.0)
           for s in (ems.services if ems else [])},
        **{f"ems.{k}": v for k, v in (d.records.items() if d else ())},
    }
