"""grid_topology.parquet (what the per-element tables' ids are, how they connect, where they are
drawn) and the report's use of it: named worst elements and the feeder map, from the results
folder alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.collections import LineCollection, PathCollection

from tests.conftest import ROOT
from tests.report.conftest import twin_run, write_results
from twin.report.build import build_report
from twin.report.data import load_run_data
from twin.report.grid import LABEL_MAX_CHARS, VOLTAGE_CMAP, element_label, feeder_map
from twin.results import columns as col

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SOURCES = ("twin.config", "twin.catalog", "grids", "pandapower", "simbench", "mosaik", "twin.run")
MAP_PNG = "grid_feeder_map.png"


@pytest.fixture(scope="module")
def feeder_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few hours of the Japanese 6.6 kV feeder (no geodata: the computed layout), grid detail on."""
    out = tmp_path_factory.mktemp("feeder") / "japan"
    twin_run(
        out,
        ROOT / "scenarios" / "japan_season.yaml",
        "duration=3h",
        "outputs.grid_detail=true",
    )
    return out


def _net_of(run_dir: Path):  # noqa: ANN202 - a pandapower net
    """The run's grid built again from the scenario as run, through the grid registry."""
    from grids import build_grid

    grid = yaml.safe_load((run_dir / col.SCENARIO_FILE).read_text(encoding="utf-8"))["grid"]
    return build_grid(grid["name"], **(grid.get("params") or {}))


def _topology(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / col.table_file(col.GRID_TOPOLOGY_TABLE))


def _detail_ids(run_dir: Path, key: str) -> list[str]:
    frame = pd.read_parquet(run_dir / col.table_file(col.GRID_DETAIL_TABLES[key]))
    return [c for c in frame.columns if c != col.TIME]


def _rows(topo: pd.DataFrame, element: str) -> pd.DataFrame:
    return topo[topo[col.TOPOLOGY_ELEMENT] == element].set_index(col.TOPOLOGY_ID)


@pytest.mark.parametrize("run", ["default_run", "feeder_run"])
def test_topology_names_exactly_the_detail_tables_elements(run, request):
    run_dir = request.getfixturevalue(run)
    topo = _topology(run_dir)
    assert list(topo.columns) == list(col.TOPOLOGY_COLUMNS)
    assert set(topo[col.TOPOLOGY_ELEMENT]) == {"bus", "line", "trafo"}
    for element, key in (
        ("bus", "vm_pu"),
        ("line", "line_loading_pct"),
        ("trafo", "trafo_loading_pct"),
    ):
        ids = topo.loc[topo[col.TOPOLOGY_ELEMENT] == element, col.TOPOLOGY_ID].tolist()
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(_detail_ids(run_dir, key)), element
    # registered as the run's own file: a later run into the folder removes it
    manifest = (run_dir / col.RUN_MANIFEST_FILE).read_text(encoding="utf-8").splitlines()
    assert col.table_file(col.GRID_TOPOLOGY_TABLE) in manifest


@pytest.mark.parametrize("run", ["default_run", "feeder_run"])
def test_topology_matches_the_net_built_again(run, request):
    run_dir = request.getfixturevalue(run)
    net = _net_of(run_dir)
    topo = _topology(run_dir)
    lines, trafos, buses = (_rows(topo, e) for e in ("line", "trafo", "bus"))
    for i, row in net.line.iterrows():
        got = lines.loc[str(i)]
        assert (got[col.TOPOLOGY_FROM_BUS], got[col.TOPOLOGY_TO_BUS]) == (
            str(row["from_bus"]),
            str(row["to_bus"]),
        )
        assert got[col.TOPOLOGY_VN_KV] == pytest.approx(net.bus.at[row["from_bus"], "vn_kv"])
        assert got[col.TOPOLOGY_NAME] == ("" if pd.isna(row["name"]) else row["name"])
    for i, row in net.trafo.iterrows():
        got = trafos.loc[str(i)]
        assert (got[col.TOPOLOGY_FROM_BUS], got[col.TOPOLOGY_TO_BUS]) == (
            str(row["hv_bus"]),
            str(row["lv_bus"]),
        )
        assert got[col.TOPOLOGY_VN_KV] == pytest.approx(row["vn_hv_kv"])
    for i, row in net.bus.iterrows():
        got = buses.loc[str(i)]
        assert got[col.TOPOLOGY_VN_KV] == pytest.approx(row["vn_kv"])
        assert (got[col.TOPOLOGY_FROM_BUS], got[col.TOPOLOGY_TO_BUS]) == ("", "")
    assert lines[[col.TOPOLOGY_X, col.TOPOLOGY_Y]].isna().all().all()
    assert np.isfinite(buses[[col.TOPOLOGY_X, col.TOPOLOGY_Y]].to_numpy()).all()


def test_simbench_buses_sit_at_their_geodata(default_run):
    net = _net_of(default_run)
    buses = _rows(_topology(default_run), "bus")
    assert set(buses[col.TOPOLOGY_XY_SOURCE]) == {"geodata"}
    for i, geo in net.bus["geo"].items():
        x, y = json.loads(geo)["coordinates"][:2]
        assert (buses.at[str(i), col.TOPOLOGY_X], buses.at[str(i), col.TOPOLOGY_Y]) == (x, y)


def test_a_net_without_geodata_gets_a_tree_layout_by_depth_from_the_external_grid(feeder_run):
    net = _net_of(feeder_run)
    assert net.bus["geo"].isna().all()
    buses = _rows(_topology(feeder_run), "bus")
    assert set(buses[col.TOPOLOGY_XY_SOURCE]) == {"layout"}
    graph = nx.Graph()
    graph.add_nodes_from(int(b) for b in net.bus.index)
    graph.add_edges_from(zip(net.line.from_bus, net.line.to_bus, strict=True))
    graph.add_edges_from(zip(net.trafo.hv_bus, net.trafo.lv_bus, strict=True))
    (root,) = net.ext_grid.bus
    hops = nx.single_source_shortest_path_length(graph, int(root))
    assert len(hops) == len(net.bus)  # one island: every bus is placed below the source
    for bus, n in hops.items():
        assert buses.at[str(bus), col.TOPOLOGY_Y] == -n
    # no two buses drawn on the same spot
    xy = buses[[col.TOPOLOGY_X, col.TOPOLOGY_Y]].round(9)
    assert not xy.duplicated().any()


def test_the_layout_is_the_same_on_every_run(feeder_run, tmp_path):
    again = tmp_path / "again"
    twin_run(
        again,
        ROOT / "scenarios" / "japan_season.yaml",
        "duration=1h",
        "outputs.grid_detail=true",
    )
    pd.testing.assert_frame_equal(_topology(again), _topology(feeder_run))
    # and a rerun into the folder without grid detail removes it with the other tables
    twin_run(
        again,
        ROOT / "scenarios" / "japan_season.yaml",
        "duration=1h",
        "outputs.grid_detail=false",
    )
    assert not (again / col.table_file(col.GRID_TOPOLOGY_TABLE)).exists()
    assert not (again / col.table_file(col.GRID_DETAIL_TABLES["vm_pu"])).exists()


def test_the_map_colours_each_element_by_its_worst_value(default_run):
    data = load_run_data(default_run)
    drawn = feeder_map(data)
    assert drawn is not None
    fig, caption = drawn
    assert "grid_topology.parquet" in caption and "grid_line_loading_pct.parquet" in caption
    topo = _topology(default_run)
    line_ids = topo.loc[topo[col.TOPOLOGY_ELEMENT] == "line", col.TOPOLOGY_ID].tolist()
    bus_ids = topo.loc[topo[col.TOPOLOGY_ELEMENT] == "bus", col.TOPOLOGY_ID].tolist()
    grids = ("grid_", "grid_baseline_")  # the panels: controlled, then the baseline's grid
    vm = {
        g: pd.read_parquet(default_run / f"{g}vm_pu.parquet").drop(columns=col.TIME) for g in grids
    }
    # the bus colour scale is symmetric about 1 pu and shared by both panels
    scale = max(max(abs(f.max().max() - 1), abs(f.min().min() - 1)) for f in vm.values())
    for ax, g in zip(fig.axes[:2], grids, strict=True):
        loading = pd.read_parquet(default_run / f"{g}line_loading_pct.parquet")
        (lines,) = [
            c for c in ax.collections if isinstance(c, LineCollection) and c.get_array() is not None
        ]
        # every line of the SimBench net is in service: all coloured, in the topology's order
        np.testing.assert_allclose(
            np.asarray(lines.get_array()), [loading[i].max() for i in line_ids]
        )
        worst = []
        for b in bus_ids:
            lo, hi = vm[g][b].min() - 1.0, vm[g][b].max() - 1.0
            worst.append(hi if abs(hi) >= abs(lo) else lo)  # sign kept: below 1 pu is negative
        dots = [c for c in ax.collections if isinstance(c, PathCollection)][-1]
        expected = VOLTAGE_CMAP((np.asarray(worst) + scale) / (2 * scale))
        np.testing.assert_allclose(dots.get_facecolors(), expected, atol=1e-6)


def test_worst_elements_are_labelled_with_their_names():
    assert element_label("line", "12", {"12": "MV1.101 Line 3"}) == "line 12 (MV1.101 Line 3)"
    assert element_label("line", "12", {"7": "other"}) == "line 12"
    assert element_label("bus", "3", {"3": ""}) == "bus 3"
    long = element_label("trafo", "2", {"2": "MV2.101-LV3.202-Trafo 1 of the depot"})
    assert len(long) == LABEL_MAX_CHARS
    assert long.startswith("trafo 2 (MV2.101-LV3.2") and long.endswith("\u2026)")


def test_a_copied_results_folder_draws_the_feeder_map_without_the_sources(default_run, tmp_path):
    copy = tmp_path / "elsewhere" / "run"
    shutil.copytree(default_run, copy, ignore=shutil.ignore_patterns("figures", "report.html"))
    script = (
        "import sys\n"
        f"for m in {SOURCES!r}: sys.modules[m] = None\n"
        "from twin.report.build import build_report\n"
        f"r = build_report({str(copy)!r})\n"
        "print(' '.join(f.slug for f in r.figures))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, res.stderr
    assert "grid_feeder_map" in res.stdout.split()
    png = (copy / col.FIGURES_DIR / MAP_PNG).read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 20_000
    html = (copy / col.REPORT_FILE).read_text(encoding="utf-8")
    assert 'alt="Feeder map"' in html
    # the worst-elements figure names its elements (SimBench names them all)
    assert "with their names from grid_topology.parquet" in html


def test_a_run_without_the_topology_table_is_reported_as_before(tmp_path):
    run_dir = write_results(tmp_path / "old", detail=True)
    data = load_run_data(run_dir)
    assert data.topology is None and data.element_names("line") == {}
    report = build_report(run_dir)
    slugs = [f.slug for f in report.figures]
    assert "grid_worst" in slugs and "grid_feeder_map" not in slugs
    assert not (run_dir / col.FIGURES_DIR / MAP_PNG).exists()


def _write_small_grid(run_dir: Path) -> None:
    """Three buses in a row (0 -line 0- 1 =trafo 0= 2), line 1 from 1 to 2 never recorded, and
    per-element tables of 96 steps whose extremes are set by hand."""
    n = 96
    time = pd.read_parquet(run_dir / col.table_file(col.TIMESERIES))[col.TIME]
    vm = pd.DataFrame({"0": np.full(n, 1.0), "1": np.full(n, 1.0), "2": np.full(n, 0.99)})
    vm.loc[10, "0"], vm.loc[20, "0"] = 0.94, 1.01  # worst: 0.06 below 1 pu
    vm.loc[30, "1"], vm.loc[40, "1"] = 0.99, 1.04  # worst: 0.04 above
    vm.loc[50, "2"] = 0.98  # never above 1 pu: worst 0.02 below
    lines = pd.DataFrame({"0": np.linspace(5, 40, n)})
    trafos = pd.DataFrame({"0": np.linspace(80, 10, n)})
    for key, frame in (("vm_pu", vm), ("line_loading_pct", lines), ("trafo_loading_pct", trafos)):
        frame.insert(0, col.TIME, time)
        frame.to_parquet(run_dir / col.table_file(col.GRID_DETAIL_TABLES[key]), index=False)
    nan = float("nan")
    rows = [
        ("bus", "0", "source", 20.0, "", "", 0.0, 0.0, "layout"),
        ("bus", "1", "", 20.0, "", "", 0.0, -1.0, "layout"),
        ("bus", "2", "", 0.4, "", "", 0.0, -2.0, "layout"),
        ("line", "0", "feeder", 20.0, "0", "1", nan, nan, ""),
        ("line", "1", "", 20.0, "1", "2", nan, nan, ""),
        ("trafo", "0", "pole", 20.0, "1", "2", nan, nan, ""),
    ]
    topo = pd.DataFrame(rows, columns=list(col.TOPOLOGY_COLUMNS))
    topo.to_parquet(run_dir / col.table_file(col.GRID_TOPOLOGY_TABLE), index=False)


def test_voltage_colours_keep_the_sign_of_the_worst_deviation(tmp_path):
    run_dir = write_results(tmp_path / "small")
    _write_small_grid(run_dir)
    data = load_run_data(run_dir)
    assert data.element_names("line") == {"0": "feeder"}
    drawn = feeder_map(data)
    assert drawn is not None
    (ax,) = [a for a in drawn[0].axes if a.get_title("left")]  # one panel: no baseline tables
    # the scale runs from 0.06 below to 0.06 above 1 pu
    dots = [c for c in ax.collections if isinstance(c, PathCollection)][-1]
    expected = VOLTAGE_CMAP([0.0, (0.04 + 0.06) / 0.12, (0.06 - 0.02) / 0.12])
    np.testing.assert_allclose(dots.get_facecolors(), expected, atol=1e-6)
    (coloured,) = [
        c for c in ax.collections if isinstance(c, LineCollection) and c.get_array() is not None
    ]
    np.testing.assert_allclose(np.asarray(coloured.get_array()), [40.0])  # line 1: no value
    trafo = [c for c in ax.collections if isinstance(c, PathCollection)][0]
    np.testing.assert_allclose(np.asarray(trafo.get_array()), [80.0])
    title = ax.get_title("left")
    assert "line 40 % (id 0)" in title and "trafo 80 % (id 0)" in title
    assert "0.940 to 1.040 pu" in title
