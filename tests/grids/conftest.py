"""Shared nets for the grid tests: SimBench nets take ~3 s to load, so they are built once."""

from __future__ import annotations

import copy
import warnings

import pytest

MVLV_CODE = "simbench:1-MVLV-semiurb-3.202-1-no_sw"
LV_CODE = "simbench:1-LV-rural1--0-no_sw"


@pytest.fixture(autouse=True)
def _quiet_pandapower():
    # pandapower warns about missing numba on every runpp; it says nothing about our code.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="session")
def _mvlv_net():
    from grids import build_grid

    return build_grid(MVLV_CODE)


@pytest.fixture(scope="session")
def _lv_net():
    from grids import build_grid

    return build_grid(LV_CODE)


@pytest.fixture
def mvlv_net(_mvlv_net):
    """SimBench MV/LV semi-urban net (248 buses, open ring switches, storages), fresh copy."""
    return copy.deepcopy(_mvlv_net)


@pytest.fixture
def lv_net(_lv_net):
    """SimBench LV rural net (15 buses), fresh copy."""
    return copy.deepcopy(_lv_net)
