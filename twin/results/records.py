"""Result columns of a fleet and of the EMS after one step: one definition shared by the
per-step simulators (FleetSim, EmsSim) and the block loop (twin.run.control_loop), so both wirings
write the same table."""

from __future__ import annotations

import numpy as np

from twin.ems.controller import EmsDecision, EnergyManagementSystem
from twin.fleet.model import Fleet


def fleet_record(eid: str, fleet: Fleet) -> dict[str, float]:
    """`<eid>.p_kw` (average grid power over the last step), plugged count and SOC after it
    (Fleet.totals, summed by the step's own pass over the EVs)."""
    t = fleet.totals
    return {
        f"{eid}.p_kw": t.p_kw,
        f"{eid}.plugged_count": t.plugged_count,
        f"{eid}.soc_mean": t.soc_mean,
        f"{eid}.soc_min": t.soc_min,
    }


def ev_detail(name: str, fleet: Fleet, p_kw: np.ndarray) -> dict[str, np.ndarray]:
    """Per-EV results of a step (`outputs.per_ev`): average grid power over it, SOC after it."""
    return {f"ev_p_kw.{name}": p_kw.copy(), f"ev_soc.{name}": fleet.state.soc.copy()}


def ev_detail_tables(fleets: dict[str, Fleet]) -> dict[str, tuple[str, list[str]]]:
    """Recorder tables of ev_detail: `ev_p_kw.<fleet>` / `ev_soc.<fleet>`, one column per EV index."""
    return {
        f"{quantity}.{name}": (f"{quantity}.{name}", [str(i) for i in range(f.table.count)])
        for name, f in fleets.items()
        for quantity in ("ev_p_kw", "ev_soc")
    }


def ems_record(
    decision: EmsDecision | None, ems: EnergyManagementSystem | None
) -> dict[str, float]:
    """Target, feasible range, each service's contribution and the services' own numbers."""
    d = decision
    return {
        "ems.target_kw": d.target_kw if d else 0.0,
        "ems.feasible_lo_kw": d.feasible_lo_kw if d else 0.0,
        "ems.feasible_hi_kw": d.feasible_hi_kw if d else 0.0,
        **{
            f"ems.contribution.{s.name}_kw": (d.contributions_kw.get(s.name, 0.0) if d else 0.0)
            for s in (ems.services if ems else [])
        },
        **{f"ems.{k}": v for k, v in (d.records.items() if d else ())},
    }
