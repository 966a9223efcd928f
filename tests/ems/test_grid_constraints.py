"""Grid protection on a small real net: the EMS's repair keeps limits as plain pandapower sees
them, moves power between transformers before it curtails, and records a conflict with a hard
need instead of breaking it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pytest

from grids.ems_view import PowerFlowGridModel
from grids.limits import grid_limits
from twin.ems.grid_access import behind_the_meter_floor
from twin.ems.grid_constraints import GridMargins, enforce_grid_limits


@dataclass
class _Profiles:
    load_p_mw: np.ndarray
    load_q_mvar: np.ndarray
    sgen_p_mw: np.ndarray
    storage_p_mw: np.ndarray
    source: str = "test"


def _two_transformer_net():
    """20 kV feeder, two 0.25 MVA transformers to two LV buses, 50 kW of houses on each."""
    net = pp.create_empty_network()
    mv = pp.create_bus(net, 20.0, name="MV")
    pp.create_ext_grid(net, mv, vm_pu=1.0)
    lv = []
    for name in ("A", "B"):
        b = pp.create_bus(net, 0.4, name=f"LV {name}")
        pp.create_transformer(net, mv, b, "0.25 MVA 20/0.4 kV", name=f"T{name}")
        pp.create_load(net, b, p_mw=0.05, q_mvar=0.01)
        lv.append(b)
    profiles = _Profiles(
        load_p_mw=np.array([[0.05, 0.05]]),
        load_q_mvar=np.array([[0.01, 0.01]]),
        sgen_p_mw=np.zeros((1, 0)),
        storage_p_mw=np.zeros((1, 0)),
    )
    return net, profiles, lv


def _direct_trafo_loading(net, ev_bus_ids, p_kw):
    net = pp.from_json_string(pp.to_json(net))
    for bus, p in zip(ev_bus_ids, p_kw, strict=True):
        pp.create_load(net, int(bus), p_mw=float(p) / 1000.0)
    pp.runpp(net, lightsim2grid=False)
    return net.res_trafo.loading_percent.to_numpy()


@pytest.fixture(scope="module")
def setup():
    net, profiles, lv = _two_transformer_net()
    limits = grid_limits(net)
    # 40 EVs on LV A, 10 on LV B (positions in net.bus order are the bus ids here).
    ev_pos = np.array([lv[0]] * 40 + [lv[1]] * 10)
    model = PowerFlowGridModel(net, profiles, limits, ev_pos)
    ev_bus = np.searchsorted(model.ev_buses, ev_pos)
    return net, model, ev_pos, ev_bus


def test_overload_is_moved_to_the_other_transformer_before_anything_is_curtailed(setup):
    net, model, ev_pos, ev_bus = setup
    # Everyone on A charges 11 kW (440 kW + 50 kW houses on a 250 kVA transformer), B at 2 kW.
    p = np.where(ev_pos == ev_pos[0], 11.0, 2.0)
    lo, hi = np.zeros(50), np.full(50, 11.0)
    before = _direct_trafo_loading(net, ev_pos, p)
    assert before[0] > 150.0
    out = enforce_grid_limits(model, 0, p, lo, hi, ev_bus, GridMargins(loading_pct=3.0))
    after = _direct_trafo_loading(net, ev_pos, out.p_kw)
    assert np.all(after <= 100.0 + 1e-6)
    # B takes what it can (10 x 11 kW = 110 kW room) so the total cut is smaller than A's excess.
    assert out.p_kw[ev_pos == ev_pos[-1]].sum() > 10 * 2.0 + 50.0
    assert after[0] > 90.0  # A is used up to its limit (less the 3-point margin), not emptied
    assert out.curtailed_kw == pytest.approx(p.sum() - out.p_kw.sum(), abs=1e-6)
    assert np.all(out.p_kw >= lo - 1e-9) and np.all(out.p_kw <= hi + 1e-9)
    assert out.conflict == 0.0 and out.binding_kind == "trafo"


def test_a_plan_within_limits_passes_unchanged(setup):
    _, model, ev_pos, ev_bus = setup
    p = np.full(50, 1.0)
    out = enforce_grid_limits(model, 0, p, np.zeros(50), np.full(50, 11.0), ev_bus)
    assert out.iterations == 0 and np.array_equal(out.p_kw, p)


def test_a_hard_need_beyond_the_limit_is_kept_and_reported_as_conflict(setup):
    net, model, ev_pos, ev_bus = setup
    # Every EV on A must charge 11 kW (departure need): no plan can keep A within 100 %.
    need = np.where(ev_pos == ev_pos[0], 11.0, 0.0)
    out = enforce_grid_limits(model, 0, need, need, np.full(50, 11.0), ev_bus)
    assert np.all(out.p_kw[ev_pos == ev_pos[0]] == pytest.approx(11.0))
    assert out.conflict > 0.0 and out.binding_kind == "trafo"
    assert _direct_trafo_loading(net, ev_pos, out.p_kw)[0] > 100.0


def test_behind_the_meter_discharge_never_exceeds_the_bus_load():
    lo = np.array([-6.0, -6.0, -6.0, 2.0, -6.0])
    btm = np.array([True, True, True, True, False])
    bus = np.array([0, 0, 1, 1, 1])
    net_load_kw = np.array([3.0, -1.0])  # bus 1 has a PV surplus: nothing to cover
    floor = behind_the_meter_floor(lo, btm, bus, net_load_kw)
    # bus 0: 12 kW of discharge room shares 3 kW of load in proportion (1.5 each)
    assert floor[:2] == pytest.approx([-1.5, -1.5])
    assert floor[2] == 0.0 and floor[3] == 2.0  # a need to charge is left as it is
    assert floor[4] == -6.0  # an exporting (V2G) fleet is not capped here
    for b in (0, 1):
        assert -floor[(bus == b) & btm].clip(max=0).sum() <= max(net_load_kw[b], 0) + 1e-12


def test_japan_preset_bands():
    net, _, _ = _two_transformer_net()
    limits = grid_limits(net, preset="japan")
    lv = net.bus["vn_kv"].to_numpy() < 1.0
    assert np.all(limits.vm_min_pu[lv] == 0.95) and np.all(limits.vm_max_pu[lv] == 1.07)
    # 101 +- 6 V on 100 V; 20 kV buses keep the defaults (no 6.6 kV bus here)
    assert np.all(limits.vm_min_pu[~lv] == 0.9)


def test_the_linear_screen_skips_only_plans_clearly_inside_the_limits(setup):
    from twin.ems.grid_constraints import LinearScreen

    net, model, ev_pos, ev_bus = setup
    screen = LinearScreen()
    lo, hi = np.zeros(50), np.full(50, 11.0)
    p = np.full(50, 1.0)
    first = enforce_grid_limits(model, 0, p, lo, hi, ev_bus, screen=screen)
    assert first.iterations == 0 and screen.skipped == 0  # nothing remembered yet: solved
    solves = model.solves
    small = p + 0.5  # 25 kW more in all: far from the limits
    enforce_grid_limits(model, 0, small, lo, hi, ev_bus, screen=screen)
    assert screen.skipped == 1 and model.solves == solves
    assert np.all(_direct_trafo_loading(net, ev_pos, small) < 100.0 - 5.0)
    # At the limit (A's EVs at 5 kW: 200 + 50 kW on 250 kVA): the power flow decides.
    near = np.where(ev_pos == ev_pos[0], 5.0, 1.0)
    enforce_grid_limits(model, 0, near, lo, hi, ev_bus, screen=screen)
    assert screen.skipped == 1 and model.solves > solves


def test_an_operating_envelope_on_a_transformer_is_kept(setup):
    from twin.ems.grid_model import Envelope

    net, model, ev_pos, ev_bus = setup
    env = Envelope("trafo", 0, "trafo:0", np.array([150.0]), np.array([0.0]))
    model.envelopes = [env]
    try:
        p = np.where(ev_pos == ev_pos[0], 5.0, 1.0)  # A: 200 kW of EVs + 50 kW houses
        lo, hi = np.zeros(50), np.full(50, 11.0)
        out = enforce_grid_limits(model, 0, p, lo, hi, ev_bus)
    finally:
        model.envelopes = []
    direct = pp.from_json_string(pp.to_json(net))
    for bus, pk in zip(ev_pos, out.p_kw, strict=True):
        pp.create_load(direct, int(bus), p_mw=float(pk) / 1000.0)
    pp.runpp(direct, lightsim2grid=False)
    assert direct.res_trafo.p_hv_mw[0] <= 0.150 + 1e-6
    assert direct.res_trafo.p_hv_mw[0] > 0.145  # kept, not emptied
    assert out.binding_kind == "envelope" or out.curtailed_kw > 0


def test_behind_the_meter_covers_only_the_evs_own_houses_on_a_shared_bus():
    from twin.ems.grid_access import house_share

    btm = np.array([True, True, True])
    bus = np.array([0, 0, 1])
    loads = np.array([8, 1])  # bus 0: 8 houses, 2 with a V2H car; bus 1: one house, one car
    share = house_share(btm, bus, loads)
    assert share == pytest.approx([0.25, 1.0])
    floor = behind_the_meter_floor(
        np.full(3, -6.0), btm, bus, np.array([8.0, 0.5]), share
    )  # 8 kW over 8 houses: the two cars' houses draw 2 kW
    assert floor == pytest.approx([-1.0, -1.0, -0.5])
