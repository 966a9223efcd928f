"""The Streamlit calls: page sections for one `View`, the live page and the replay page.

Everything shown is computed by the pure modules; this one only lays it out. Streamlit's caches
are applied when a page runs, not as decorators, so importing this module calls no Streamlit.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from twin.dashboard import charts, kpis, tables
from twin.dashboard.formatting import format_kw, format_pct, format_value
from twin.dashboard.history import History
from twin.dashboard.live import LiveFeed, view_from_snapshot
from twin.dashboard.network import Topology, TopologyCache
from twin.dashboard.replay import Run, history_of, known_runs, load_run, view_from_run
from twin.dashboard.view import View
from twin.results import columns as col
from twin.results.readers import ResultsError
from twin.telemetry import TelemetryError

REFRESH_S = 1.0
STALE_AFTER_S = 5.0
SLIDER_LABELS_UP_TO = 3000
"""Longer runs get a plain step slider: a select slider with one label per step gets slow."""
REPLAY_TOPOLOGY_WAIT_S = 60.0
NO_GRID_DETAIL = "no per-element grid data (set outputs.grid_detail: true in the scenario)"


# -- shared resources -------------------------------------------------------------------------
def _new_topology_cache() -> TopologyCache:
    return TopologyCache()


def _new_live_feed(address: str) -> LiveFeed:
    return LiveFeed(address)


def _load_run(run_dir: str, stamp: float) -> Run:
    del stamp  # only part of the cache key: a rewritten summary.json means a new run
    return load_run(run_dir)


def _csv(run_dir: str, stamp: float, _run: Run) -> bytes:
    del run_dir, stamp  # the cache key
    return _run.table.to_csv(index=False).encode("utf-8")


def _history(run_dir: str, stamp: float, _run: Run) -> History:
    del run_dir, stamp  # the cache key (a Run is large to hash)
    return history_of(_run)


# Streamlit keys its caches by the function's module, name and source, so wrapping on each call
# reaches the same cache every time (shared by all sessions for cache_resource).
def topology_cache() -> TopologyCache:
    return st.cache_resource(_new_topology_cache)()


def live_feed(address: str) -> LiveFeed:
    return st.cache_resource(_new_live_feed)(address)


def cached_run(run_dir: str, stamp: float) -> Run:
    return st.cache_data(show_spinner=False, max_entries=4)(_load_run)(run_dir, stamp)


def cached_csv(run_dir: str, stamp: float, run: Run) -> bytes:
    """The run's timeseries as CSV, built once per run (a year at 15 min takes seconds)."""
    return st.cache_resource(max_entries=2)(_csv)(run_dir, stamp, run)


def cached_history(run_dir: str, stamp: float, run: Run) -> History:
    # cache_resource, not cache_data: History is immutable here and copying it per rerun (what
    # cache_data does) would cost more than the slider step it serves
    return st.cache_resource(max_entries=4)(_history)(run_dir, stamp, run)


# -- sections ---------------------------------------------------------------------------------
def chart(fig: go.Figure | None, key: str, empty: str) -> None:
    if fig is None:
        st.caption(empty)
    else:
        st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})


def status_line(view: View) -> str:
    """Time, step and fleet power in one line from one snapshot, so they always belong together
    (the browser tests parse it)."""
    t = view.now.strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"**{view.scenario}** · sim time **{t}** ({view.timezone}) · step "
        f"{view.step_index + 1} of {view.step_count} · fleet power "
        f"**{format_kw(view.total.get('p_kw'))}**"
    )


def render_metrics(view: View) -> None:
    cols = st.columns(6)
    cols[0].metric(
        "Sim time", view.now.strftime("%m-%d %H:%M"), help=f"local time, {view.timezone}"
    )
    cols[1].metric(
        "Fleet power",
        format_kw(view.total.get("p_kw")),
        help="sum of all fleets at the grid connection, + = charging",
    )
    cols[2].metric("EMS target", format_kw(view.total.get("target_kw")))
    cols[3].metric(
        "Baseline",
        format_kw(view.total.get("baseline_p_kw")),
        help="the same fleet charging uncontrolled (plug in and charge)",
    )
    cols[4].metric("Plugged EVs", format_value(view.total.get("plugged_count")))
    cols[5].metric("Max trafo loading", format_pct(view.grid_scalars.get("trafo_loading_max_pct")))


def render_kpis(values: dict[str, object]) -> None:
    """Headline KPIs as cards (unit in the label), every scalar KPI in an expander."""
    items = kpis.ordered_kpis(values)
    if not items:
        st.caption("no KPIs yet")
        return
    for message in kpis.errors(values):
        st.warning(message)
    cards = kpis.cards(values)
    for start in range(0, len(cards), kpis.CARDS_PER_ROW):
        cols = st.columns(kpis.CARDS_PER_ROW)
        for column, (key, value) in zip(
            cols, cards[start : start + kpis.CARDS_PER_ROW], strict=False
        ):
            column.metric(kpis.card_label(key), format_value(value), help=key, border=True)
    if any(kv not in cards for kv in items):
        with st.expander(f"All KPIs ({len(items)})"):
            st.table(kpis.table(items), hide_index=True)


def soc_chart(view: View) -> go.Figure:
    if view.soc_bins is not None and all("soc_hist" in f for f in view.fleets.values()):
        counts = {name: f["soc_hist"] for name, f in view.fleets.items()}
        return charts.soc_histogram_figure(view.soc_bins, counts)
    return charts.soc_lines_figure(view.history, list(view.fleets), view.timeline)


def render_network(view: View, key: str) -> Topology | None:
    if not view.grid_name:
        st.caption("grid unknown for this run (no scenario.yaml)")
        return None
    if not view.grid_now:
        st.caption(NO_GRID_DETAIL)
        return None
    # Live redraws every second, so it never waits; a replay page is drawn once, so it waits.
    wait_s = 0.0 if view.source == "live" else REPLAY_TOPOLOGY_WAIT_S
    building = f"Building the grid '{view.grid_name}' for drawing (a few seconds, once)..."
    with st.spinner(building):
        topo = topology_cache().get(view.grid_name, view.grid_params, wait_s=wait_s)
    if topo is None:
        st.info(building)
        return None
    if isinstance(topo, BaseException):
        st.warning(f"The grid '{view.grid_name}' cannot be drawn: {topo}")
        return None
    chart(charts.network_figure(view.grid_now, topo), f"{key}-network", "")
    return topo


def render_hil(view: View) -> None:
    if not view.hil:
        st.caption("no hardware chargers in this run")
        return
    st.table(tables.hil_chargers(view.hil), hide_index=True)
    if view.step_lateness_s is not None:
        st.caption(f"step lateness behind the wall clock: {view.step_lateness_s:.3f} s")
    if view.hil_events:
        st.caption(f"last link events ({len(view.hil_events)} in this run)")
        st.table(tables.last_events(view.hil_events), hide_index=True)


TABS = ("Overview", "Grid", "Fleets", "Services", "Hardware")


def render(view: View, key: str) -> None:
    """The whole page body for one View (live fragment and replay share it): a status line and
    the headline metrics above five tabs. Every chart has a fixed key and the tabs are the same
    on every rerun, so a live redraw updates the charts in place instead of rebuilding them."""
    for note in view.notes:
        st.warning(note)
    st.markdown(
        status_line(view), help="One line from one snapshot: time and power always belong together."
    )
    render_metrics(view)
    overview, grid, fleets, services, hardware = st.tabs(list(TABS))
    h, t = view.history, view.timeline
    with overview:
        st.markdown(f"**{view.kpi_title}**")
        render_kpis(view.kpis)
        st.markdown("**Fleet power vs EMS target and baseline** (shaded: flexibility windows)")
        chart(charts.power_figure(h, t), f"{key}-power", "")
    with grid:
        render_grid_tab(view, key)
    with fleets:
        if view.soc_bins is not None:
            st.markdown("**SOC distribution** (all EVs, now)")
        else:
            st.markdown("**SOC per fleet** (solid: mean, dotted: min; results keep no per-EV SOC)")
        chart(soc_chart(view), f"{key}-soc", "")
    with services:
        left, right = st.columns(2)
        with left:
            st.markdown("**EMS service contributions** (hard floor + contributions = EMS target)")
            chart(
                charts.contributions_figure(h, t), f"{key}-contrib", "no EMS contributions recorded"
            )
        with right:
            st.markdown("**Frequency and the fleet's response**")
            chart(
                charts.frequency_figure(h, t), f"{key}-freq", "no frequency signal in this scenario"
            )
        if view.ledger:
            st.markdown(
                f"**Settlement** ({view.ledger.get('entries')} ledger entries, head hash "
                f"{str(view.ledger.get('head_hash') or '')[:16]}; check with `twin verify`)"
            )
            st.table(tables.settlement(view.ledger), hide_index=True)
        else:
            st.caption(
                "settlement: no market ledger in this run (a scenario with `market:` has one)"
            )
    with hardware:
        st.markdown("**Hardware in the loop: chargers**")
        render_hil(view)


def render_grid_tab(view: View, key: str) -> None:
    h, t = view.history, view.timeline
    st.markdown("**Grid violations: controlled vs baseline (uncontrolled charging)**")
    if view.violations:
        if view.source == "live":
            st.caption(tables.violations_coverage(view.violations, view.step_count))
        st.table(tables.violations(view.violations), hide_index=True)
        worst = tables.violation_worst(view.violations)
        if len(worst):
            st.caption("Worst element over its limit, per kind")
            st.table(worst, hide_index=True)
    elif view.source == "live":
        st.caption(
            "no violations tally yet (the grid is checked a block of steps at a time), "
            "or the run checks no grid limits"
        )
    else:
        st.caption("no violations tally in this run (the run checks no grid limits)")
    left, right = st.columns(2)
    with left:
        st.markdown("**Bus voltage band** (highest and lowest bus)")
        chart(charts.voltage_band_figure(h, t), f"{key}-voltage", "no bus voltages in this run")
    with right:
        st.markdown("**Transformer loading over time**")
        chart(charts.trafo_figure(h, t), f"{key}-trafo", "no transformer loading in this run")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Grid now** (bus voltage and line loading)")
        topo = render_network(view, key)
    with right:
        st.markdown("**Worst elements now**")
        worst = tables.worst_elements(view.grid_now, topo)
        if not worst:
            st.caption(NO_GRID_DETAIL)
        for title, frame in worst.items():
            st.caption(title)
            st.table(frame, hide_index=True)


# -- pages ------------------------------------------------------------------------------------
def live_page(address: str) -> None:
    try:
        feed = live_feed(address)
    except TelemetryError as err:
        st.error(f"Live address not usable: {err}")
        return

    @st.fragment(run_every=REFRESH_S)
    def live_body() -> None:
        try:
            snap = feed.latest(wait_s=0.3)
            if snap is None:
                st.info(
                    f"No running simulation is publishing on {feed.subscriber.endpoint}. "
                    f"Start one with `twin run --live {address}` (or `twin dashboard`), "
                    "or switch to Replay in the sidebar. This page keeps listening."
                )
                return
            silent = feed.subscriber.silent_s
            if snap.kind == "end":
                final = snap.header.get("final") or {}
                out_dir = snap.meta.get("out_dir", "")
                st.success(
                    f"Run finished ({final.get('status', '?')}): showing its last step. "
                    f"Results in `{out_dir}` - [open it in replay](?mode=replay&run={out_dir})."
                )
            elif silent > STALE_AFTER_S:
                st.warning(
                    f"No new data for {silent:.0f} s: the run may be paused or stopped "
                    "(showing the last step received)."
                )
            render(view_from_snapshot(snap), key="live")
            st.caption(
                f"live from {feed.subscriber.endpoint} · run {snap.run_id} · "
                f"message {snap.header['seq']}"
            )
        except Exception as err:  # noqa: BLE001 - a page shows a message, never a traceback
            st.error(f"The live view hit a problem: {type(err).__name__}: {err}")

    live_body()


def replay_page(run_dir: str) -> None:
    if not run_dir.strip():
        runs = known_runs(Path.cwd())
        st.info(
            "Choose a results folder in the sidebar"
            + (f" (found: {', '.join(runs)})." if runs else " (e.g. results/default).")
        )
        return
    path = Path(run_dir).expanduser()
    summary_path = path / col.SUMMARY_FILE
    try:
        stamp = summary_path.stat().st_mtime if summary_path.exists() else 0.0
        run = cached_run(str(path), stamp)
    except ResultsError as err:
        st.error(f"Cannot replay this folder: {err}")
        return
    if run.scenario:  # start drawing the grid now; the charts above it render meanwhile
        topology_cache().get(run.scenario.grid_name, run.scenario.grid_params or {})
    times = run.times()
    n = len(times)
    slider_key = f"replay-slider-{path}"
    if n <= SLIDER_LABELS_UP_TO:
        labels = [t.strftime("%Y-%m-%d %H:%M:%S") for t in times]
        chosen = st.select_slider(
            "Time (local)",
            options=list(range(n)),
            value=n - 1,
            format_func=lambda k: labels[k],
            key=slider_key,
        )
    else:
        chosen = st.slider("Step (its time is in the line below)", 0, n - 1, n - 1, key=slider_key)
    history = cached_history(str(path), stamp, run)
    render(view_from_run(path, run, int(chosen), history), key="replay")
    st.download_button(
        "Download the timeseries (CSV)",
        data=cached_csv(str(path), stamp, run),
        file_name=f"{path.name}-{col.TIMESERIES}.csv",
        mime="text/csv",
        key=f"replay-csv-{path}",
    )
