"""PowerFlow: the lightsim2grid backend reproduces a direct pandapower.runpp, step after step.

The reference is built here, independently of grids.powerflow: a copy of the net with the step's
injections written into its tables, one extra load per bus for the EVs (pandapower.create_loads),
and ``pandapower.runpp(lightsim2grid=False)`` so the reference never runs lightsim2grid's solver.
"""

from __future__ import annotations

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandapower as pp
import pytest

from grids import (
    GridProfiles,
    InvalidBusError,
    PowerFlow,
    PowerFlowInputError,
    UnsupportedGridError,
    build_grid,
)

VM_TOL_PU = 1e-6
LOADING_TOL_PCT = 1e-4
TOKYO = ZoneInfo("Asia/Tokyo")


def _reference(net, load_p, load_q, sgen_p, ev_p, storage_p=None):
    ref = copy.deepcopy(net)
    ref.load["p_mw"] = load_p
    ref.load["q_mvar"] = load_q
    ref.load["scaling"] = 1.0
    if len(ref.sgen):
        ref.sgen["p_mw"] = sgen_p
        ref.sgen["scaling"] = 1.0
    if storage_p is not None and len(ref.storage):
        ref.storage["p_mw"] = storage_p
    pp.create_loads(ref, net.bus.index.to_numpy(), p_mw=ev_p, q_mvar=0.0)
    pp.runpp(ref, lightsim2grid=False, numba=False, tolerance_mva=1e-9)
    return ref


def _assert_close_with_same_nans(ours, theirs, tol):
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    finite = ~np.isnan(theirs)
    if finite.any():
        assert np.abs(ours[finite] - theirs[finite]).max() <= tol


def _assert_equal_to_reference(res, ref):
    assert res.converged
    _assert_close_with_same_nans(res.vm_pu, ref.res_bus["vm_pu"].to_numpy(), VM_TOL_PU)
    _assert_close_with_same_nans(
        res.line_loading_pct, ref.res_line["loading_percent"].to_numpy(), LOADING_TOL_PCT
    )
    _assert_close_with_same_nans(
        res.trafo_loading_pct, ref.res_trafo["loading_percent"].to_numpy(), LOADING_TOL_PCT
    )
    assert res.slack_p_mw == pytest.approx(ref.res_ext_grid["p_mw"].sum(), abs=1e-5)
    assert res.slack_q_mvar == pytest.approx(ref.res_ext_grid["q_mvar"].sum(), abs=1e-5)


def _random_ev(rng, n_bus, share=0.3, max_mw=0.05):
    return rng.uniform(0.0, max_mw, n_bus) * (rng.random(n_bus) < share)


@pytest.mark.parametrize("grid", ["simbench_mvlv", "japan_6kv_feeder"])
def test_lightsim_equals_runpp_over_sampled_steps_with_random_evs(grid, mvlv_net):
    net = mvlv_net if grid == "simbench_mvlv" else build_grid("japan_6kv_feeder", frequency_hz=60)
    prof = GridProfiles.for_net(net, dt.datetime(2025, 7, 14, tzinfo=TOKYO), 300, 288)
    pf = PowerFlow(net)
    assert pf.bus_ids.tolist() == net.bus.index.tolist()
    assert pf.line_ids.tolist() == net.line.index.tolist()
    assert pf.trafo_ids.tolist() == net.trafo.index.tolist()
    rng = np.random.default_rng(42)
    sampled = set(rng.choice(prof.n_steps, size=5, replace=False).tolist())
    checked = 0
    for k in range(prof.n_steps):  # every step, so the warm start is exercised between samples
        step = prof.at(k)
        ev = _random_ev(rng, len(net.bus))
        res = pf.solve(
            step.load_p_mw, step.load_q_mvar, step.sgen_p_mw, ev, storage_p_mw=step.storage_p_mw
        )
        assert res.converged
        if k in sampled:
            ref = _reference(
                net, step.load_p_mw, step.load_q_mvar, step.sgen_p_mw, ev, step.storage_p_mw
            )
            _assert_equal_to_reference(res, ref)
            checked += 1
    assert checked == 5


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("cigre_lv", {}),
        ("cigre_mv", {"with_der": "all"}),
        ("kerber_dorfnetz", {}),
        ("kerber_landnetz_kabel_2", {}),
    ],
)
def test_lightsim_equals_runpp_on_named_grids(name, params):
    # cigre_lv has closed bus-bus switches, cigre_mv open line switches and storages
    net = build_grid(name, **params)
    pf = PowerFlow(net)
    ev = _random_ev(np.random.default_rng(1), len(net.bus), max_mw=0.01)
    args = (net.load["p_mw"].to_numpy(), net.load["q_mvar"].to_numpy(), net.sgen["p_mw"].to_numpy())
    res = pf.solve(*args, ev)
    _assert_equal_to_reference(res, _reference(net, *args, ev))


def test_parallel_lines_and_trafos(lv_net):
    net = lv_net
    net.line.loc[net.line.index[:3], "parallel"] = 2
    net.trafo["parallel"] = 2
    pf = PowerFlow(net)
    ev = np.full(len(net.bus), 0.004)
    args = (
        net.load["p_mw"].to_numpy() * 3,
        net.load["q_mvar"].to_numpy(),
        net.sgen["p_mw"].to_numpy(),
    )
    _assert_equal_to_reference(pf.solve(*args, ev), _reference(net, *args, ev))


def test_pandapower_backend_equals_direct_runpp(lv_net):
    pf = PowerFlow(lv_net, backend="pandapower")
    ev = _random_ev(np.random.default_rng(3), len(lv_net.bus))
    args = (
        lv_net.load["p_mw"].to_numpy(),
        lv_net.load["q_mvar"].to_numpy(),
        lv_net.sgen["p_mw"].to_numpy(),
    )
    for _ in range(2):  # second call warm-starts from the results
        res = pf.solve(*args, ev)
        _assert_equal_to_reference(res, _reference(lv_net, *args, ev))


@pytest.mark.parametrize("backend", ["lightsim2grid", "pandapower"])
def test_impossible_step_reports_nonconvergence_then_recovers(backend):
    net = build_grid("japan_6kv_feeder", n_sections=4)
    pf = PowerFlow(net, backend=backend)
    p, q, s = (
        net.load["p_mw"].to_numpy(),
        net.load["q_mvar"].to_numpy(),
        net.sgen["p_mw"].to_numpy(),
    )
    ev = np.zeros(len(net.bus))
    first = pf.solve(p, q, s, ev)
    assert first.converged
    bad = pf.solve(p * 1000, q * 1000, s, ev)
    assert not bad.converged
    assert np.isnan(bad.vm_pu).all() and bad.vm_pu.shape == (len(net.bus),)
    assert np.isnan(bad.line_loading_pct).all() and np.isnan(bad.trafo_loading_pct).all()
    assert np.isnan(bad.slack_p_mw) and np.isnan(bad.slack_q_mvar)
    again = pf.solve(p, q, s, ev)
    _assert_equal_to_reference(again, _reference(net, p, q, s, ev))


def test_ev_power_is_drawn_at_its_bus(lv_net):
    pf = PowerFlow(lv_net)
    p, q, s = (
        lv_net.load["p_mw"].to_numpy(),
        lv_net.load["q_mvar"].to_numpy(),
        lv_net.sgen["p_mw"].to_numpy() * 0,
    )
    zero = np.zeros(len(lv_net.bus))
    base = pf.solve(p, q, s, zero)
    far_bus = int(lv_net.bus.index[np.argmin(base.vm_pu)])
    ev = zero.copy()
    ev[pf.positions_of_buses([far_bus])] = 0.011  # 11 kW charger
    loaded = pf.solve(p, q, s, ev)
    # the slack supplies the charger plus extra losses; the charger's bus voltage drops
    assert 0.011 < loaded.slack_p_mw - base.slack_p_mw < 0.011 * 1.2
    pos = pf.positions_of_buses([far_bus])[0]
    assert loaded.vm_pu[pos] < base.vm_pu[pos]


def test_solve_does_not_touch_the_net(lv_net):
    before = copy.deepcopy(lv_net)
    pf = PowerFlow(lv_net)
    pf.solve(
        lv_net.load["p_mw"].to_numpy() * 2,
        lv_net.load["q_mvar"].to_numpy(),
        lv_net.sgen["p_mw"].to_numpy(),
        np.ones(len(lv_net.bus)) * 0.001,
    )
    assert len(lv_net.load) == len(before.load)
    assert lv_net.load["p_mw"].equals(before.load["p_mw"])


def test_wrong_array_length_is_a_typed_error(lv_net):
    pf = PowerFlow(lv_net)
    p, q, s = (
        lv_net.load["p_mw"].to_numpy(),
        lv_net.load["q_mvar"].to_numpy(),
        lv_net.sgen["p_mw"].to_numpy(),
    )
    with pytest.raises(PowerFlowInputError, match="ev_p_mw_per_bus"):
        pf.solve(p, q, s, np.zeros(len(lv_net.bus) - 1))
    with pytest.raises(PowerFlowInputError, match="load_p_mw"):
        pf.solve(p[:-1], q, s, np.zeros(len(lv_net.bus)))


def test_unknown_bus_position_is_named(lv_net):
    pf = PowerFlow(lv_net)
    with pytest.raises(InvalidBusError, match="12345"):
        pf.positions_of_buses([12345])


def test_voltage_dependent_loads_are_refused_by_lightsim(lv_net):
    lv_net.load.loc[lv_net.load.index[0], "const_z_p_percent"] = 50.0
    with pytest.raises(UnsupportedGridError, match="voltage-dependent loads"):
        PowerFlow(lv_net)
    PowerFlow(lv_net, backend="pandapower")  # the reference backend takes it


def test_islanded_and_out_of_service_buses_are_nan_like_runpp():
    net = build_grid("kerber_landnetz_freileitung_1")
    net.line.loc[10, "in_service"] = False  # cuts buses 12..14 off the transformer
    net.bus.loc[5, "in_service"] = False  # and takes bus 5 (with its load) out
    pf = PowerFlow(net)
    args = (net.load["p_mw"].to_numpy(), net.load["q_mvar"].to_numpy(), net.sgen["p_mw"].to_numpy())
    ev = np.full(len(net.bus), 0.002)
    res = pf.solve(*args, ev)
    ref = _reference(net, *args, ev)
    _assert_equal_to_reference(res, ref)
    # bus 5 and everything behind it (buses 6..14) are dead; buses 0..4 are solved
    assert np.isnan(res.vm_pu).tolist() == [False] * 5 + [True] * 10


@pytest.mark.slow
def test_lightsim_equals_runpp_on_simbench_switch_variant():
    # the "-sw" variant models substations with bus-bus switches, which are fused
    net = build_grid("simbench:1-MVLV-semiurb-3.202-1-sw")
    pf = PowerFlow(net)
    ev = _random_ev(np.random.default_rng(9), len(net.bus))
    args = (net.load["p_mw"].to_numpy(), net.load["q_mvar"].to_numpy(), net.sgen["p_mw"].to_numpy())
    _assert_equal_to_reference(pf.solve(*args, ev), _reference(net, *args, ev))
