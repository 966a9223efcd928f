"""Result columns of a fleet and of the EMS after one step: one definition shared by the
per-step simulators (FleetSim, EmsSim) and the block loop (twin.run.control_loop), so both wirings
write the same table."""

from __future__ import annotations

import numpy as np

from twin.ems.controller import EmsDecision, EnergyManagementSystem
from twin.fleet.model import Fleet
from twin.results import columns as col


def fleet_record(eid: str, fleet: Fleet) -> dict[str, float]:
    """`<eid>.p_kw` (average grid power over the last step), plugged count and SOC after it
    (Fleet.totals, summed by the step's own pass over the EVs)."""
    t = fleet.totals
    return {
        col.fleet_p_kw(eid): t.p_kw,
        col.fleet_plugged_count(eid): t.plugged_count,
        col.fleet_soc_mean(eid): t.soc_mean,
        col.fleet_soc_min(eid): t.soc_min,
    }


def ev_detail(name: str, fleet: Fleet, p_kw: np.ndarray) -> dict[str, np.ndarray]:
    """Per-EV results of a step (`outputs.per_ev`): average grid power over it, SOC after it."""
    return {
        col.ev_table("ev_p_kw", name): p_kw.copy(),
        col.ev_table("ev_soc", name): fleet.state.soc.copy(),
    }


def ev_detail_tables(fleets: dict[str, Fleet]) -> dict[str, tuple[str, list[str]]]:
    """Recorder tables of ev_detail: `ev_p_kw.<fleet>` / `ev_soc.<fleet>`, one column per EV index."""
    return {
        col.ev_table(quantity, name): (
            col.ev_table(quantity, name),
            [str(i) for i in range(f.table.count)],
        )
        for name, f in fleets.items()
        for quantity in col.EV_QUANTITIES
    }


def ems_record(
    decision: EmsDecision | None, ems: EnergyManagementSystem | None
) -> dict[str, float]:
    """Target, feasible range, each service's contribution and the services' own numbers."""
    d = decision
    return {
        col.EMS_TARGET_KW: d.target_kw if d else 0.0,
        col.EMS_FEASIBLE_LO_KW: d.feasible_lo_kw if d else 0.0,
        col.EMS_FEASIBLE_HI_KW: d.feasible_hi_kw if d else 0.0,
        **{
            col.ems_contribution(s.name): (d.contributions_kw.get(s.name, 0.0) if d else 0.0)
            for s in (ems.services if ems else [])
        },
        **{col.ems_record(k): v for k, v in (d.records.items() if d else ())},
    }
