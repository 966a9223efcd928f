"""PV surplus of the building each EV is plugged at (Oki islands study: PV on a share of buildings).

The buildings signal gives, per step, the output of one PV-equipped building
(`building_pv_kw`), the demand of one building (`building_load_kw`) and the share of buildings
with PV (`building_pv_share`). EV i's building has PV when the running count
floor((i + 1) x share) steps up at i, which spreads the PV buildings evenly over the EVs of
every fleet without a random draw. Surplus per EV:

    surplus_kw_i = has_pv_i x max(pv_kw - load_kw, 0)
"""

from __future__ import annotations

import numpy as np

from twin.ems.plan import EmsContext

PV_SIGNAL = "building_pv_kw"
LOAD_SIGNAL = "building_load_kw"
SHARE_SIGNAL = "building_pv_share"
OTHER_PV_SIGNAL = "other_building_pv_kw"
OTHER_LOAD_SIGNAL = "other_building_load_kw"
OTHER_SHARE_SIGNAL = "other_building_pv_share"
"""The same three for one non-residential building (workplaces), when the study has them."""


def pv_flags(n: int, share: float) -> np.ndarray:
    """Which of n buildings have PV: exactly round-down(n x share) of them, evenly spread."""
    i = np.arange(n, dtype=float)
    return np.floor((i + 1.0) * share + 1e-9) > np.floor(i * share + 1e-9)


def ev_building_surplus_kw(ctx: EmsContext) -> np.ndarray:
    """Per-EV PV surplus at its building, kW (0 without a buildings signal)."""
    share = float(ctx.signals.get(SHARE_SIGNAL, 0.0))
    surplus_kw = max(
        float(ctx.signals.get(PV_SIGNAL, 0.0)) - float(ctx.signals.get(LOAD_SIGNAL, 0.0)), 0.0
    )
    if share <= 0.0 or surplus_kw <= 0.0:
        return np.zeros(len(ctx.lo_kw))
    return np.where(pv_flags(len(ctx.lo_kw), share), surplus_kw, 0.0)


def place_building_surplus_kw(ctx: EmsContext, at_other_building: np.ndarray) -> np.ndarray:
    """Per-EV PV surplus at its building, kW: the house's (`building_*`) or, where
    `at_other_building`, a non-residential building's (`other_building_*`, else the house's)."""
    house = ev_building_surplus_kw(ctx)
    if OTHER_PV_SIGNAL not in ctx.signals or not at_other_building.any():
        return house
    share = float(ctx.signals.get(OTHER_SHARE_SIGNAL, 0.0))
    surplus_kw = max(
        float(ctx.signals[OTHER_PV_SIGNAL]) - float(ctx.signals.get(OTHER_LOAD_SIGNAL, 0.0)), 0.0
    )
    other = (
        np.where(pv_flags(len(ctx.lo_kw), share), surplus_kw, 0.0)
        if share > 0.0 and surplus_kw > 0.0
        else np.zeros(len(ctx.lo_kw))
    )
    return np.where(at_other_building, other, house)


def charge_room_kw(ctx: EmsContext, soc_max: float) -> np.ndarray:
    """Charging power that would take each plugged EV to `soc_max` within the step, capped at
    its charger rating (the raised upper bound of surplus charging), kW."""
    dt_h = ctx.dt_s / 3600.0
    room_kwh = np.maximum(soc_max - ctx.soc, 0.0) * ctx.battery_kwh / ctx.eta_charge
    return np.where(ctx.plugged, np.minimum(ctx.p_charge_max_kw, room_kwh / dt_h), 0.0)
