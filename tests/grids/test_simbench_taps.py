"""SimBench's transformer taps are applied (pandapower 3 ignores them without a tap changer type)
and our power flow agrees with pandapower's own on the tapped net."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import simbench

from grids import PowerFlow, build_grid

CODE = "1-MVLV-semiurb-3.202-1-no_sw"


def _flat(net):
    for table in ("load", "sgen", "storage"):
        if "scaling" in net[table]:
            net[table]["scaling"] = 1.0
    return net


def test_the_mv_lv_tap_raises_the_lv_voltage_by_its_step():
    ours = _flat(build_grid(f"simbench:{CODE}"))
    raw = _flat(simbench.get_simbench_net(CODE))
    assert (raw.trafo["tap_pos"] == -1).any()
    assert ours.trafo["tap_changer_type"].eq("Ratio").all()
    # No load, no generation: the LV voltage is the MV voltage through the transformer ratio.
    for net in (ours, raw):
        net.load["p_mw"], net.load["q_mvar"], net.sgen["p_mw"] = 0.0, 0.0, 0.0
        if len(net.storage):
            net.storage["p_mw"] = 0.0
        pp.runpp(net, lightsim2grid=False)
    t = raw.trafo[raw.trafo["tap_pos"] == -1].iloc[0]
    lv, hv = int(t["lv_bus"]), int(t["hv_bus"])
    ratio_raw = ours.res_bus.vm_pu[lv] / ours.res_bus.vm_pu[hv]
    ratio_untapped = raw.res_bus.vm_pu[lv] / raw.res_bus.vm_pu[hv]
    # A -1 step of 2.5 % on the HV side: the HV winding is 2.5 % shorter, LV 1/(1-0.025) higher.
    expected = 1.0 / (1.0 - t["tap_step_percent"] / 100.0)
    assert abs(ratio_raw / ratio_untapped - expected) < 2e-3


def test_lightsim_power_flow_equals_pandapower_on_the_tapped_net():
    net = _flat(build_grid(f"simbench:{CODE}"))
    pf = PowerFlow(net)
    r = pf.solve(
        net.load["p_mw"].to_numpy(),
        net.load["q_mvar"].to_numpy(),
        net.sgen["p_mw"].to_numpy(),
        np.zeros(len(net.bus)),
    )
    ref = copy.deepcopy(net)
    pp.runpp(ref, lightsim2grid=False)
    assert np.nanmax(np.abs(r.vm_pu - ref.res_bus["vm_pu"].to_numpy())) < 1e-6
    assert (
        np.nanmax(np.abs(r.trafo_loading_pct - ref.res_trafo["loading_percent"].to_numpy())) < 1e-4
    )
