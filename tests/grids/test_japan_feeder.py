"""The parametric Japanese 6.6 kV feeder: structure, line constants, frequency, validation."""

from __future__ import annotations

import math

import numpy as np
import pandapower as pp
import pytest

from grids import GridParameterError, build_grid


def test_structure_follows_parameters():
    net = build_grid(
        "japan_6kv_feeder",
        n_sections=3,
        section_km=0.5,
        transformers_per_section=2,
        pole_transformer_kva=30,
        houses_per_transformer=5,
        house_peak_kw=2.0,
        lv_buses_per_transformer=2,
        pv_share=0.4,
        pv_kw_per_house=4.0,
    )
    # 66 kV + 6.6 kV substation bus + 3 MV nodes + 3*2 pole transformers * 2 LV buses
    assert len(net.bus) == 2 + 3 + 3 * 2 * 2
    assert len(net.trafo) == 1 + 6
    assert len(net.load) == 6 * 5
    assert net.load["p_mw"].sum() == pytest.approx(30 * 0.002)
    poles = net.trafo[net.trafo["vn_lv_kv"] == 0.2]
    assert len(poles) == 6 and np.allclose(poles["sn_mva"], 0.030)
    assert sorted(net.bus["vn_kv"].unique()) == [0.2, 6.6, 66.0]
    mv_lines = net.line[net.line["name"].str.startswith("MV")]
    assert mv_lines["length_km"].sum() == pytest.approx(1.5)
    # 5 houses over 2 LV buses -> 3 + 2; PV on round(0.4*3)=1 and round(0.4*2)=1 houses
    assert len(net.sgen) == 12
    assert net.sgen["p_mw"].sum() == pytest.approx(12 * 0.004)
    assert net.f_hz == 50.0


def test_line_constants_match_hand_calculation():
    net = build_grid("japan_6kv_feeder", conductor="Al-OC 120", n_sections=1)
    line = net.line[net.line["name"].str.startswith("MV")].iloc[0]
    # Al 120 mm2: 0.0283 / 120 * 1000 * 1.02 (stranding)
    assert line["r_ohm_per_km"] == pytest.approx(0.24055, abs=1e-5)
    # GMD (0.6*0.6*1.2)^(1/3) = 0.75595 m, GMR 0.7788*7 mm = 5.4516 mm,
    # x = 2*pi*50*2e-4*ln(755.95/5.4516) = 0.062832*4.9320 = 0.30989 ohm/km
    assert line["x_ohm_per_km"] == pytest.approx(0.30989, abs=2e-4)
    # c = 55.63 / ln(755.95/7) = 55.63 / 4.6822 = 11.881 nF/km
    assert line["c_nf_per_km"] == pytest.approx(11.881, abs=0.01)


def test_sixty_hertz_raises_reactance_and_voltage_drop():
    kwargs = {"n_sections": 8, "section_km": 1.0, "house_peak_kw": 3.0, "pv_share": 0.0}
    east = build_grid("japan_6kv_feeder", frequency_hz=50, **kwargs)
    west = build_grid("japan_6kv_feeder", frequency_hz=60, **kwargs)
    assert west.f_hz == 60.0
    assert np.allclose(west.line["x_ohm_per_km"], east.line["x_ohm_per_km"] * 1.2)
    for net in (east, west):
        pp.runpp(net, lightsim2grid=False, numba=False)
    mv = east.bus.index[east.bus["name"] == "MV section 8"][0]
    assert west.res_bus.at[mv, "vm_pu"] < east.res_bus.at[mv, "vm_pu"]


def test_voltage_falls_along_the_trunk():
    net = build_grid("japan_6kv_feeder", n_sections=6, pv_share=0.0)
    pp.runpp(net, lightsim2grid=False, numba=False)
    trunk = [net.bus.index[net.bus["name"] == f"MV section {s}"][0] for s in range(1, 7)]
    vm = net.res_bus.loc[trunk, "vm_pu"].to_numpy()
    assert np.all(np.diff(vm) < 0)


def test_substation_bank_carries_the_feeder_load():
    net = build_grid("japan_6kv_feeder", pv_share=0.0)
    pp.runpp(net, lightsim2grid=False, numba=False)
    total_load = net.load["p_mw"].sum()
    bank = net.res_trafo.loc[net.trafo["vn_hv_kv"] == 66.0].iloc[0]
    # the bank delivers the load plus (small, positive) losses
    assert total_load < bank["p_hv_mw"] < total_load * 1.1
    assert math.isclose(net.res_ext_grid["p_mw"].sum(), bank["p_hv_mw"], rel_tol=1e-9)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("frequency_hz", 55),
        ("n_sections", 0),
        ("pole_transformer_kva", 1000),
        ("pv_share", 1.5),
        ("conductor", "unobtainium"),
        ("section_km", -1.0),
        ("house_power_factor", 0.0),
    ],
)
def test_bad_parameters_are_named(param, value):
    with pytest.raises(GridParameterError, match=param if param != "conductor" else "conductor"):
        build_grid("japan_6kv_feeder", **{param: value})
