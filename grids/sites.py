"""Where charging sites connect: mapping sites to bus ids of a pandapower net."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from grids.errors import InvalidBusError
from grids.site_checks import GridFacts, check_site_buses

if TYPE_CHECKING:
    from pandapower import pandapowerNet

LV_MAX_KV = 1.0
"""Buses at or below this nominal voltage count as low voltage (preferred for automatic sites)."""


def load_buses(net: pandapowerNet) -> np.ndarray:
    """Bus ids that carry at least one in-service load, in ``net.bus`` order.

    Args:
        net: The pandapower net.

    Returns:
        Bus ids (int64), without duplicates, only in-service buses.
    """
    loads = net.load[net.load["in_service"].astype(bool)]
    has_load = np.isin(net.bus.index.to_numpy(), loads["bus"].to_numpy())
    in_service = net.bus["in_service"].to_numpy(dtype=bool)
    return net.bus.index.to_numpy(dtype=np.int64)[has_load & in_service]


def assign_sites_to_buses(
    net: pandapowerNet,
    n_sites: int,
    explicit: Sequence[int | None] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Map each charging site to a bus id.

    Explicit bus ids are kept (after validation). The other sites are spread over candidate
    buses in a seeded random order: low-voltage load buses if the net has any, else all load
    buses, else all in-service buses other than the ext_grid's. Candidates already taken by an
    explicit site come last, and when there are more sites than candidates the order repeats
    (several sites then share a bus).

    Args:
        net: The pandapower net.
        n_sites: Number of charging sites (>= 0).
        explicit: None (all automatic) or one entry per site: a bus id, or None for automatic.
        seed: Seed of the placement order; the same seed gives the same mapping.

    Returns:
        Bus id per site, shape (n_sites,), int64.

    Raises:
        InvalidBusError: ``explicit`` has the wrong length, or names a bus that is not in the
            net or is out of service (the message names the bus id).
    """
    if explicit is None:
        explicit = [None] * max(n_sites, 0)
    # One set of checks for a built net and for `twin validate`'s cached facts (grids.facts).
    check_site_buses(facts_of_net(net), n_sites, explicit)
    buses = np.array([-1 if b is None else int(b) for b in explicit], dtype=np.int64)
    auto = np.flatnonzero(buses < 0)
    if auto.size:
        candidates = candidate_buses(net)
        order = np.random.default_rng(seed).permutation(candidates)
        taken = np.isin(order, buses[buses >= 0])
        order = np.concatenate([order[~taken], order[taken]])
        buses[auto] = order[np.arange(auto.size) % order.size]
    return buses


def candidate_buses(net: pandapowerNet) -> np.ndarray:
    """Buses automatic placement uses: LV load buses, else load buses, else any but the slack."""
    with_load = load_buses(net)
    if with_load.size:
        vn_kv = net.bus.loc[with_load, "vn_kv"].to_numpy(dtype=float)
        lv = with_load[vn_kv <= LV_MAX_KV]
        return lv if lv.size else with_load
    in_service = net.bus.index.to_numpy(dtype=np.int64)[net.bus["in_service"].to_numpy(dtype=bool)]
    slack = net.ext_grid["bus"].to_numpy(dtype=np.int64)
    others = in_service[~np.isin(in_service, slack)]
    if not others.size:
        raise InvalidBusError("the grid has no bus to place charging sites on")
    return others


def facts_of_net(net: pandapowerNet) -> GridFacts:
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
