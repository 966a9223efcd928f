"""build_grid / available_grids / check_grid_name: every builder builds a net that converges."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from grids import (
    GridParameterError,
    UnknownGridError,
    available_grids,
    build_grid,
    check_grid_name,
)

NAMED = [
    ("cigre_lv", {}),
    ("cigre_mv", {}),
    ("cigre_mv", {"with_der": "pv_wind"}),
    ("cigre_mv", {"with_der": "all"}),
    ("kerber_landnetz_freileitung_1", {}),
    ("kerber_landnetz_freileitung_2", {}),
    ("kerber_landnetz_kabel_1", {}),
    ("kerber_landnetz_kabel_2", {}),
    ("kerber_dorfnetz", {}),
    ("kerber_vorstadtnetz_kabel_1", {}),
    ("kerber_vorstadtnetz_kabel_2", {}),
    ("japan_6kv_feeder", {}),
    ("japan_6kv_feeder", {"frequency_hz": 60, "with_substation": False}),
]


def _converges(net) -> None:
    pp.runpp(net, lightsim2grid=False, numba=False)
    vm = net.res_bus["vm_pu"].to_numpy()
    assert net.converged
    assert np.all((vm > 0.85) & (vm < 1.15)), (vm.min(), vm.max())


@pytest.mark.parametrize(("name", "params"), NAMED)
def test_named_grid_builds_and_converges(name, params):
    net = build_grid(name, **params)
    assert net["grid_name"] == name
    assert len(net.bus) > 1 and len(net.load) > 0 and len(net.ext_grid) == 1
    _converges(net)


def test_kerber_parameters_pass_through():
    net = build_grid("kerber_landnetz_freileitung_1", n_lines=5, p_load_mw=0.004)
    assert len(net.load) == 5
    assert net.load["p_mw"].sum() == pytest.approx(5 * 0.004)


def test_simbench_grids_build_and_converge(mvlv_net, lv_net):
    for net, n_bus in ((mvlv_net, 248), (lv_net, 15)):
        assert len(net.bus) == n_bus
        _converges(net)


def test_simbench_build_returns_independent_copies(lv_net):
    lv_net.load["p_mw"] = 99.0
    again = build_grid("simbench:1-LV-rural1--0-no_sw")
    assert again.load["p_mw"].max() < 1.0


def test_unknown_name_lists_available_names():
    with pytest.raises(UnknownGridError) as info:
        build_grid("cigre_hv_typo")
    message = str(info.value)
    assert "cigre_hv_typo" in message
    for name in ("cigre_lv", "cigre_mv", "japan_6kv_feeder", "kerber_dorfnetz", "simbench:"):
        assert name in message


def test_unknown_simbench_code_names_code_and_valid_examples():
    with pytest.raises(UnknownGridError) as info:
        check_grid_name("simbench:1-MVLV-semiurb-9.999-1-no_sw")
    message = str(info.value)
    assert "1-MVLV-semiurb-9.999-1-no_sw" in message
    assert "simbench:1-MVLV-semiurb-3.202-1-no_sw" in message


def test_unknown_grid_error_is_a_value_error_for_pydantic_validators():
    assert issubclass(UnknownGridError, ValueError)


def test_unknown_parameter_is_named():
    with pytest.raises(GridParameterError, match="n_sectoins"):
        build_grid("japan_6kv_feeder", n_sectoins=3)
    with pytest.raises(GridParameterError, match="bogus"):
        build_grid("cigre_lv", bogus=1)
    with pytest.raises(GridParameterError, match="with_der"):
        build_grid("cigre_mv", with_der="nuclear")
    with pytest.raises(GridParameterError, match="no parameters"):
        build_grid("simbench:1-LV-rural1--0-no_sw", scale=2)


def test_available_grids_lists_named_and_simbench():
    names = available_grids()
    assert {"cigre_lv", "cigre_mv", "japan_6kv_feeder", "kerber_vorstadtnetz_kabel_1"} <= set(names)
    assert "simbench:1-MVLV-semiurb-3.202-1-no_sw" in names
    assert "simbench:1-LV-rural1--0-no_sw" in names
    assert not any(n.startswith("simbench:") for n in available_grids(include_simbench=False))
    for name in names[:20]:
        check_grid_name(name)


def test_simbench_nets_are_cached_on_disk_and_a_broken_cache_is_rebuilt(tmp_path, monkeypatch):
    from pandapower.toolbox import nets_equal

    from grids import registry

    code = "1-LV-rural1--0-no_sw"
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    registry._pristine_simbench_net.cache_clear()
    try:
        first = build_grid(f"simbench:{code}")
        cached = registry.simbench_cache_path(code)
        assert cached is not None and cached.parent.parent == tmp_path and cached.exists()
        registry._pristine_simbench_net.cache_clear()  # as a new process: read from disk
        from_disk = build_grid(f"simbench:{code}")
        assert nets_equal(first, from_disk, check_only_results=False)
        assert len(from_disk.profiles["load"]) == len(first.profiles["load"]) > 0
        cached.write_bytes(b"not a pickle")
        registry._pristine_simbench_net.cache_clear()
        rebuilt = build_grid(f"simbench:{code}")
        assert nets_equal(first, rebuilt, check_only_results=False)
        monkeypatch.setenv("TWIN_CACHE_DIR", "")
        assert registry.simbench_cache_path(code) is None
    finally:
        registry._pristine_simbench_net.cache_clear()


def test_shipped_simbench_code_list_is_simbench_s_own() -> None:
    # Grid names are checked against a shipped copy of SimBench's code list so that validating a
    # scenario does not import simbench (pandapower, ~3 s); it must be exactly the package's list.
    import importlib.metadata

    import simbench

    from grids.registry import SIMBENCH_CODES_FILE, _shipped_simbench_codes

    assert (
        SIMBENCH_CODES_FILE.read_text()
        .splitlines()[0]
        .startswith(f"# simbench {importlib.metadata.version('simbench')}:")
    )
    assert _shipped_simbench_codes() == frozenset(simbench.collect_all_simbench_codes())
