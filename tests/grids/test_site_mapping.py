"""Charging sites -> bus ids: deterministic, LV load buses preferred, explicit ids validated."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from grids import InvalidBusError, assign_sites_to_buses, load_buses


def _small_net():
    """MV bus 10 (slack) -> LV buses 20..24; loads on 21, 22, 23(out of service), 24(bus oos)."""
    net = pp.create_empty_network()
    mv = pp.create_bus(net, 20.0, index=10)
    lv = [pp.create_bus(net, 0.4, index=i) for i in (20, 21, 22, 23, 24)]
    net.bus.loc[24, "in_service"] = False
    pp.create_ext_grid(net, mv)
    pp.create_load(net, mv, 1.0)
    pp.create_load(net, 21, 0.01)
    pp.create_load(net, 22, 0.01)
    pp.create_load(net, 22, 0.02)
    pp.create_load(net, 23, 0.01, in_service=False)
    pp.create_load(net, 24, 0.01)
    del lv
    return net


def test_load_buses_skip_out_of_service_loads_and_buses():
    assert load_buses(_small_net()).tolist() == [10, 21, 22]


def test_automatic_sites_prefer_lv_load_buses_and_cover_them():
    buses = assign_sites_to_buses(_small_net(), 4, None, seed=3)
    assert set(buses.tolist()) == {21, 22}  # 4 sites on 2 candidates: each used twice
    assert sorted(buses.tolist()).count(21) == 2


def test_same_seed_same_mapping_other_seed_other_mapping(mvlv_net):
    a = assign_sites_to_buses(mvlv_net, 20, None, seed=7)
    b = assign_sites_to_buses(mvlv_net, 20, None, seed=7)
    c = assign_sites_to_buses(mvlv_net, 20, None, seed=8)
    assert a.dtype == np.int64 and a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()
    lv_with_load = set(load_buses(mvlv_net).tolist()) & set(
        mvlv_net.bus.index[mvlv_net.bus["vn_kv"] <= 1.0].tolist()
    )
    assert set(a.tolist()) <= lv_with_load
    assert len(set(a.tolist())) == 20  # enough candidates: no bus is shared


def test_explicit_buses_are_kept_and_automatic_ones_avoid_them():
    net = _small_net()
    buses = assign_sites_to_buses(net, 2, [21, None], seed=0)
    assert buses.tolist() == [21, 22]
    assert assign_sites_to_buses(net, 1, [10], seed=0).tolist() == [10]


def test_nonexistent_bus_is_named():
    with pytest.raises(InvalidBusError, match="bus 99 does not exist"):
        assign_sites_to_buses(_small_net(), 2, [None, 99], seed=0)


def test_out_of_service_bus_is_named():
    with pytest.raises(InvalidBusError, match="bus 24 is out of service"):
        assign_sites_to_buses(_small_net(), 1, [24], seed=0)


def test_wrong_number_of_explicit_entries():
    with pytest.raises(InvalidBusError, match="2 entries for 3 sites"):
        assign_sites_to_buses(_small_net(), 3, [21, 22], seed=0)


def test_non_integer_bus_id():
    with pytest.raises(InvalidBusError, match="not an integer"):
        assign_sites_to_buses(_small_net(), 1, ["21"], seed=0)


def test_net_without_loads_uses_non_slack_buses():
    net = _small_net()
    net.load = net.load.iloc[0:0]
    buses = assign_sites_to_buses(net, 3, None, seed=1)
    assert set(buses.tolist()) <= {20, 21, 22, 23}  # not the slack bus 10, not the oos bus 24
    assert len(set(buses.tolist())) == 3
