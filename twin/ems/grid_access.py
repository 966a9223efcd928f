"""How the EMS reaches the network: its grid model, where each EV connects, and the discharge
policy of each fleet (V2G export or behind-the-meter V2H)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from twin.ems.grid_model import GridModel


@dataclass(frozen=True)
class GridAccess:
    """Attached to the EMS by the run (EnergyManagementSystem.attach_grid).

    Attributes:
        model: the EMS's grid model.
        bus_pos: per fleet, each EV's bus position (PowerFlow.bus_ids order).
        behind_the_meter: fleets whose discharge may cover only the load on their own bus.
    """

    model: GridModel
    bus_pos: Mapping[str, np.ndarray]
    behind_the_meter: frozenset[str] = field(default_factory=frozenset)

    def per_ev(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For the fleets in `names` (concatenated in that order): each EV's column in the
        model's EV-bus arrays, whether it is behind the meter, and its bus position."""
        pos = np.concatenate([np.asarray(self.bus_pos[n], dtype=np.int64) for n in names])
        btm = np.concatenate(
            [np.full(len(self.bus_pos[n]), n in self.behind_the_meter) for n in names]
        )
        return np.searchsorted(self.model.ev_buses, pos), btm, pos

    def house_share(self, names: Sequence[str]) -> np.ndarray:
        """house_share of every bus for the fleets in `names`."""
        _, btm, pos = self.per_ev(names)
        return house_share(btm, pos, self.model.loads_per_bus)


def house_share(btm: np.ndarray, bus_pos: np.ndarray, loads_per_bus: np.ndarray) -> np.ndarray:
    """Per bus, the share of its load that its behind-the-meter EVs' own houses draw: one house
    per EV, the bus's loads taken as its houses (min(1, EVs / loads); 1 on a bus without loads,
    e.g. a site that is one customer)."""
    evs = np.bincount(bus_pos[btm], minlength=len(loads_per_bus)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(loads_per_bus > 0, np.minimum(evs / loads_per_bus, 1.0), 1.0)


def behind_the_meter_floor(
    lo_kw: np.ndarray,
    btm: np.ndarray,
    bus_pos: np.ndarray,
    site_net_load_kw: np.ndarray,
    share: np.ndarray | None = None,
) -> np.ndarray:
    """Lower bounds with behind-the-meter discharge capped by the net load of its houses.

    On each bus the discharge the behind-the-meter EVs may do together is at most the bus's
    load net of local generation (nothing exported) times `share` (house_share: the part of that
    load that is the EVs' own houses, when a bus carries several houses); each EV's part is in
    proportion to its own discharge limit. A positive lower bound (a departure need, a floor) is
    left as it is.
    """
    discharge = np.where(btm, np.maximum(-lo_kw, 0.0), 0.0)
    n_bus = len(site_net_load_kw)
    room = np.bincount(bus_pos, weights=discharge, minlength=n_bus)
    cap = np.maximum(site_net_load_kw, 0.0) * (1.0 if share is None else share)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(room > 0, np.minimum(cap / room, 1.0), 1.0)
    return np.where(btm & (lo_kw < 0), lo_kw * share[bus_pos], lo_kw)
