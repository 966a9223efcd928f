"""The simulated net as a results table (`grid_topology.parquet`): what the ids of the per-element
grid tables are, how they connect and where to draw them, so a results folder read without the
grid's sources (or pandapower) can still name elements and draw a feeder map.

Bus coordinates come from the net's geodata when every bus has some (pandapower 3 keeps them as
GeoJSON points in `net.bus.geo`, pandapower 2 as `net.bus_geodata.x/y`). Otherwise (Kerber nets,
the Japanese feeder) a tree layout from the external grid is computed: deterministic, so the same
net always gets the same picture, and readable for the radial feeders these grids are.
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twin.results import columns as col
from twin.results.run_folder import note_written

GEODATA, LAYOUT = "geodata", "layout"


def write_grid_topology(out_dir: Path, net: Any) -> Path:
    """Write `grid_topology.parquet` for `net` into the run folder (recorded in its manifest, so
    a later run into the folder removes it); returns the file's path."""
    target = Path(out_dir) / col.table_file(col.GRID_TOPOLOGY_TABLE)
    tmp = target.with_suffix(".tmp")
    note_written(target.parent, tmp, target)
    frame = topology_frame(net)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    os.replace(tmp, target)
    return target


def topology_frame(net: Any) -> pd.DataFrame:
    """One row per bus, line and transformer of `net` (columns col.TOPOLOGY_COLUMNS)."""
    xy, source = bus_coordinates(net)
    bus_kv = net.bus["vn_kv"].astype(float)
    buses = pd.DataFrame(
        {
            col.TOPOLOGY_ELEMENT: col.TOPOLOGY_BUS,
            col.TOPOLOGY_ID: _ids(net.bus.index),
            col.TOPOLOGY_NAME: _names(net.bus),
            col.TOPOLOGY_VN_KV: bus_kv.to_numpy(),
            col.TOPOLOGY_FROM_BUS: "",
            col.TOPOLOGY_TO_BUS: "",
            col.TOPOLOGY_X: [xy[int(b)][0] for b in net.bus.index],
            col.TOPOLOGY_Y: [xy[int(b)][1] for b in net.bus.index],
            col.TOPOLOGY_XY_SOURCE: source,
        }
    )
    lines = _branches(net.line, col.TOPOLOGY_LINE, "from_bus", "to_bus", bus_kv)
    trafos = _branches(net.trafo, col.TOPOLOGY_TRAFO, "hv_bus", "lv_bus", bus_kv, kv="vn_hv_kv")
    frame = pd.concat([buses, lines, trafos], ignore_index=True)
    return frame[list(col.TOPOLOGY_COLUMNS)].astype(
        {col.TOPOLOGY_VN_KV: float, col.TOPOLOGY_X: float, col.TOPOLOGY_Y: float}
    )


def _ids(index: Iterable[Any]) -> list[str]:
    # str(int(...)): the detail tables' column names are str() of the net's int64 indices.
    return [str(int(i)) for i in index]


def _names(table: pd.DataFrame) -> list[str]:
    if "name" not in table:
        return [""] * len(table)
    return ["" if _missing(n) else str(n) for n in table["name"]]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _branches(
    table: pd.DataFrame,
    element: str,
    from_col: str,
    to_col: str,
    bus_kv: pd.Series,
    kv: str | None = None,
) -> pd.DataFrame:
    """Lines or transformers: ends as bus ids; kV of the from (high-voltage) side."""
    n = len(table)
    start = table[from_col].astype(int)
    vn_kv = table[kv].astype(float) if kv else bus_kv.reindex(start.to_numpy()).astype(float)
    return pd.DataFrame(
        {
            col.TOPOLOGY_ELEMENT: [element] * n,
            col.TOPOLOGY_ID: _ids(table.index),
            col.TOPOLOGY_NAME: _names(table),
            col.TOPOLOGY_VN_KV: np.asarray(vn_kv, dtype=float),
            col.TOPOLOGY_FROM_BUS: _ids(start),
            col.TOPOLOGY_TO_BUS: _ids(table[to_col]),
            col.TOPOLOGY_X: np.full(n, np.nan),
            col.TOPOLOGY_Y: np.full(n, np.nan),
            col.TOPOLOGY_XY_SOURCE: [""] * n,
        }
    )


# --- coordinates ----------------------------------------------------------------------------------


def bus_coordinates(net: Any) -> tuple[dict[int, tuple[float, float]], str]:
    """Bus id -> (x, y), and where they come from (GEODATA or LAYOUT)."""
    geo = geodata_coordinates(net)
    buses = [int(b) for b in net.bus.index]
    if buses and all(b in geo for b in buses):
        return geo, GEODATA
    # Some buses without geodata: mixing geographic and computed positions would draw nonsense.
    return tree_layout(buses, _edges(net), _roots(net)), LAYOUT


def geodata_coordinates(net: Any) -> dict[int, tuple[float, float]]:
    """The buses with finite geodata: `net.bus.geo` (GeoJSON, pandapower 3), else
    `net.bus_geodata` (x, y columns, pandapower 2)."""
    out: dict[int, tuple[float, float]] = {}
    if "geo" in net.bus:
        for bus, geo in net.bus["geo"].items():
            point = _geojson_point(geo)
            if point is not None:
                out[int(bus)] = point
    if not out and "bus_geodata" in net and len(net["bus_geodata"]):
        table = net["bus_geodata"]
        for bus, x, y in zip(table.index, table["x"], table["y"], strict=True):
            if math.isfinite(float(x)) and math.isfinite(float(y)):
                out[int(bus)] = (float(x), float(y))
    return out


def _geojson_point(geo: Any) -> tuple[float, float] | None:
    if isinstance(geo, str):
        try:
            geo = json.loads(geo)
        except json.JSONDecodeError:
            return None
    if not isinstance(geo, dict) or geo.get("type") != "Point":
        return None
    coords = geo.get("coordinates")
    if not isinstance(coords, list | tuple) or len(coords) < 2:
        return None
    try:
        x, y = float(coords[0]), float(coords[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def _edges(net: Any) -> list[tuple[int, int]]:
    """Bus pairs the net connects, whatever their switches' state (the layout places every
    element, also those switched off)."""
    pairs: list[tuple[int, int]] = []
    for table, ends in (
        ("line", ("from_bus", "to_bus")),
        ("trafo", ("hv_bus", "lv_bus")),
        ("trafo3w", ("hv_bus", "mv_bus")),
        ("trafo3w", ("hv_bus", "lv_bus")),
        ("impedance", ("from_bus", "to_bus")),
    ):
        if table in net and len(net[table]):
            a, b = ends
            pairs += zip(net[table][a].astype(int), net[table][b].astype(int), strict=True)
    if "switch" in net and len(net["switch"]):
        bus_bus = net["switch"][net["switch"]["et"] == "b"]
        pairs += zip(bus_bus["bus"].astype(int), bus_bus["element"].astype(int), strict=True)
    return pairs


def _roots(net: Any) -> list[int]:
    if "ext_grid" in net and len(net["ext_grid"]):
        return sorted({int(b) for b in net["ext_grid"]["bus"]})
    return []


def tree_layout(
    buses: list[int], edges: list[tuple[int, int]], roots: list[int]
) -> dict[int, tuple[float, float]]:
    """Positions of a breadth-first spanning tree from `roots` (then from the lowest unplaced bus
    of each further island): y = -depth, leaves one unit apart in visiting order, a parent above
    the middle of its children. Neighbours are visited in id order, so the layout is the same on
    every run; meshes keep their extra edges, drawn across the tree."""
    neighbours: dict[int, set[int]] = {b: set() for b in buses}
    for a, b in edges:
        if a in neighbours and b in neighbours and a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    children: dict[int, list[int]] = {}
    depth: dict[int, int] = {}
    trees: list[int] = []
    for root in [r for r in roots if r in neighbours] + sorted(neighbours):
        if root in depth:
            continue
        trees.append(root)
        depth[root] = 0
        queue = deque([root])
        while queue:
            bus = queue.popleft()
            children[bus] = [n for n in sorted(neighbours[bus]) if n not in depth]
            for n in children[bus]:
                depth[n] = depth[bus] + 1
                queue.append(n)
    x: dict[int, float] = {}
    next_leaf = 0.0
    for root in trees:
        # Post-order without recursion (a long feeder is deeper than Python's recursion limit).
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            bus, done = stack.pop()
            kids = children[bus]
            if not kids:
                x[bus], next_leaf = next_leaf, next_leaf + 1.0
            elif done:
                x[bus] = (x[kids[0]] + x[kids[-1]]) / 2.0
            else:
                stack.append((bus, True))
                stack.extend((k, False) for k in reversed(kids))
        next_leaf += 1.0  # a gap between islands
    return {b: (x[b], -float(depth[b])) for b in buses}
