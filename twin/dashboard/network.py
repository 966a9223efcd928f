"""The grid as a drawing: bus positions and branch end points, built once per grid in the
background (a SimBench net takes seconds to build, so a page never waits for it)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SPRING_LAYOUT_ABOVE = 400
"""Buses above which kamada-kawai (quadratic memory) gives way to a seeded spring layout."""


@dataclass(frozen=True)
class Topology:
    """Bus positions and branch end points of a grid, keyed by element id as a string."""

    bus: pd.DataFrame  # x, y, name, vn_kv
    line: pd.DataFrame  # from_bus, to_bus, name
    trafo: pd.DataFrame  # hv_bus, lv_bus, name
    geographic: bool  # x, y are longitude, latitude (else a schematic layout)


def geo_xy(bus: pd.DataFrame) -> np.ndarray | None:
    """Longitude/latitude of every bus from pandapower's GeoJSON `geo` column, or None."""
    if "geo" not in bus or bus["geo"].isna().any():
        return None
    try:
        coords = [
            json.loads(g)["coordinates"] if isinstance(g, str) else g["coordinates"]
            for g in bus["geo"]
        ]
        xy = np.array(coords, dtype=float)[:, :2]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    # all buses on one spot (e.g. a net whose LV part inherits one coordinate) draws as a dot
    return xy if np.ptp(xy[:, 0]) + np.ptp(xy[:, 1]) > 0 else None


def schematic_xy(net: Any) -> np.ndarray:
    """A graph layout of the buses for a net without coordinates (seeded: same drawing each time)."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(net.bus.index)
    graph.add_edges_from(zip(net.line.from_bus, net.line.to_bus, strict=True))
    graph.add_edges_from(zip(net.trafo.hv_bus, net.trafo.lv_bus, strict=True))
    if len(graph) <= SPRING_LAYOUT_ABOVE:
        pos = nx.kamada_kawai_layout(graph)
    else:
        pos = nx.spring_layout(graph, seed=1)
    return np.array([pos[b] for b in net.bus.index])


def topology_of(net: Any) -> Topology:
    """The drawing data of a pandapower net."""
    bus = pd.DataFrame({"name": net.bus["name"].astype(str), "vn_kv": net.bus["vn_kv"]})
    bus.index = bus.index.astype(str)
    xy = geo_xy(net.bus)
    geographic = xy is not None
    if xy is None:
        xy = schematic_xy(net)
    bus["x"], bus["y"] = xy[:, 0], xy[:, 1]
    line = pd.DataFrame(
        {
            "from_bus": net.line.from_bus.astype(str),
            "to_bus": net.line.to_bus.astype(str),
            "name": net.line["name"].astype(str),
        }
    )
    line.index = line.index.astype(str)
    trafo = pd.DataFrame(
        {
            "hv_bus": net.trafo.hv_bus.astype(str),
            "lv_bus": net.trafo.lv_bus.astype(str),
            "name": net.trafo["name"].astype(str),
        }
    )
    trafo.index = trafo.index.astype(str)
    return Topology(bus=bus, line=line, trafo=trafo, geographic=geographic)


def build_topology(grid_name: str, params_json: str) -> Topology:
    """Build the named grid (params as JSON, so the key is hashable) and take its drawing data."""
    from grids import build_grid  # pandapower is slow to import: only when a grid is drawn

    return topology_of(build_grid(grid_name, **json.loads(params_json)))


class TopologyCache:
    """Topologies by (grid, params), built in one worker thread; `get` never blocks by default."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grid-topology")
        self._jobs: dict[tuple[str, str], Future[Topology]] = {}
        self._lock = threading.Lock()

    def get(
        self, grid_name: str, params: dict[str, Any], wait_s: float = 0.0
    ) -> Topology | BaseException | None:
        """The topology if built (None while building; the exception if it cannot be built)."""
        key = (grid_name, json.dumps(params, sort_keys=True, default=str))
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = self._pool.submit(build_topology, *key)
        if wait_s > 0:
            futures_wait([job], timeout=wait_s)
        if not job.done():
            return None
        return job.exception() or job.result()
