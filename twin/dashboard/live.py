"""Live mode: the newest telemetry snapshot of a running co-simulation as a `View`.

The snapshot's history block names its series as twin.telemetry.wire defines them
(`meta.history_series`): fixed ones (HISTORY_MAIN, HISTORY_FREQUENCY, HISTORY_GRID, named as in
`history`) and one per service and per transformer. This module sorts them into a `History`, so
the charts draw live and replay alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from twin.dashboard.history import (
    BASELINE_P_KW,
    FREQUENCY_HZ,
    GRID_SERIES,
    MAX_TRAFO_SERIES,
    P_KW,
    RESPONSE_KW,
    TARGET_KW,
    History,
)
from twin.dashboard.view import GridNow, Timeline, View
from twin.telemetry import Snapshot, TelemetrySubscriber, wire

TIME_S = wire.HISTORY_MAIN[0]
MAIN_SERIES = (P_KW, BASELINE_P_KW, TARGET_KW, FREQUENCY_HZ, RESPONSE_KW, *GRID_SERIES)
"""The `History.main` series; the wire names them alike (checked in tests/dashboard)."""


def _parser(build: Callable[[str], str]) -> Callable[[str], str | None]:
    """The inverse of one of wire's per-item name builders: name -> item, None if not its kind.
    Built from the builder itself, so a renamed wire series is read without a change here."""
    head, _, tail = build("\0").partition("\0")

    def parse(name: str) -> str | None:
        if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
            return name[len(head) : len(name) - len(tail)]
        return None

    return parse


service_of = _parser(wire.history_contribution_kw)
trafo_of = _parser(wire.history_trafo_loading_pct)
GRID_ARRAYS = (("vm_pu", "bus"), ("line_loading_pct", "line"), ("trafo_loading_pct", "trafo"))
"""Per-element arrays of a snapshot and the `meta.ids` list each is aligned to."""


def local_index(start_iso: str, time_s: np.ndarray, timezone: str) -> pd.DatetimeIndex:
    """Seconds since the run's start (an ISO time with offset) as local times."""
    start = pd.Timestamp(start_iso).tz_convert("UTC")
    return (start + pd.to_timedelta(np.asarray(time_s, dtype=float), unit="s")).tz_convert(timezone)


def history_from_snapshot(history: dict[str, np.ndarray], start_iso: str, timezone: str) -> History:
    """The snapshot's decimated history block as chart series (no SOC lines: live draws the
    SOC distribution instead)."""
    index = local_index(start_iso, history.get(TIME_S, np.array([])), timezone)
    main = pd.DataFrame({k: history[k] for k in MAIN_SERIES if k in history}, index=index)
    services = {k: service_of(k) for k in history}
    contributions = pd.DataFrame(
        {s: history[k] for k, s in services.items() if s is not None}, index=index
    )
    trafos = {k: trafo_of(k) for k in history}
    trafo = {t: history[k] for k, t in trafos.items() if t is not None}
    trafo_loading = pd.DataFrame(trafo if len(trafo) <= MAX_TRAFO_SERIES else {}, index=index)
    return History(main=main, contributions=contributions, trafo_loading=trafo_loading)


def grid_now_from_snapshot(arrays: dict[str, np.ndarray], ids: dict[str, list[str]]) -> GridNow:
    """Per-element arrays as series by element id; an array that does not match its ids (a
    truncated message) is left out rather than mislabelled."""
    out: GridNow = {}
    for quantity, element in GRID_ARRAYS:
        values = arrays.get(quantity)
        names = ids.get(element, [])
        if values is not None and len(values) == len(names):
            out[quantity] = pd.Series(values, index=[str(n) for n in names])
    return out


def view_from_snapshot(snap: Snapshot) -> View:
    h, meta = snap.header, snap.meta
    tz = meta["timezone"]
    step_s, duration_s = int(meta["step_s"]), int(meta["duration_s"])
    kpis = dict(h.get("kpis_so_far") or {})
    title = "KPIs so far (this run)"
    final = h.get("final")
    if final and final.get("kpis"):
        kpis, title = final["kpis"], f"KPIs of the finished run ({final.get('status')})"
    hil_block: dict[str, Any] = h.get("hil") or {}
    first_last = local_index(meta["start"], np.array([0, duration_s - step_s]), tz)
    return View(
        source="live",
        scenario=meta["scenario"],
        timeline=Timeline(
            timezone=tz,
            windows={k: (int(v[0]), int(v[1])) for k, v in meta["windows"].items()},
            now=pd.Timestamp(h["time_local"]),
            x_range=(first_last[0], first_last[1]),
        ),
        step_s=step_s,
        grid_name=meta["grid"]["name"],
        grid_params=meta["grid"].get("params") or {},
        history=history_from_snapshot(snap.history, meta["start"], tz),
        total=h["total"],
        fleets={n: dict(f) for n, f in h["fleets"].items()},
        grid_now=grid_now_from_snapshot(snap.arrays, meta["ids"]),
        grid_scalars=h.get("grid") or {},
        kpis=kpis,
        kpi_title=title,
        contributions=h["ems"].get("contributions_kw") or {},
        frequency=h.get("frequency"),
        hil=hil_block.get("chargers"),
        soc_bins=meta.get("soc_bins"),
        step_index=int(h["time_s"]) // step_s,
        step_count=duration_s // step_s,
        step_lateness_s=hil_block.get("step_lateness_s"),
        violations=h.get("violations") or None,
    )


class LiveFeed:
    """One subscriber per address, shared by all browser sessions (it keeps the newest step);
    the lock keeps two sessions from reading one ZeroMQ socket at once."""

    def __init__(self, address: str):
        self.address = address
        self.subscriber = TelemetrySubscriber(address)
        self._lock = threading.Lock()

    def latest(self, wait_s: float) -> Snapshot | None:
        with self._lock:
            self.subscriber.receive(timeout_s=wait_s)
            return self.subscriber.latest
