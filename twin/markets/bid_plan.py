"""A run's bids, made before it starts: history -> usage prediction -> bids at each gate, and the
prediction scored on held-out days.

`plan_bids` is called while the run is built, before its first step, and the run writes what it
returns right away (`bids.parquet`, `prediction_holdout.csv`): the bids and their gate times are
on disk before delivery begins, and the EMS gets the promised capacity as a signal
(`regulation_capacity_kw`, one value per step) that no service can change. After the run,
`bid_outcome` sets the bids against what the fleet really had (plugged EVs per step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.markets.bidding import BidBlock, bids_frame, earliest_gate, size_blocks
from twin.markets.history import (
    HistoryError,
    ev_ids,
    fleet_session_history,
    read_session_history,
)
from twin.markets.prediction import evaluate_holdout, fit_usage, slot_times, week_slot

if TYPE_CHECKING:
    from twin.config.bidding import BiddingSpec
    from twin.config.schema import Scenario

REGULATION_CAPACITY_SIGNAL = "regulation_capacity_kw"
"""The capacity promised for the step's block, kW (the regulation service tracks +- this)."""
FEMS_SLOT_S = 1800


@dataclass
class BidPlan:
    """What the aggregator decided before delivery.

    Attributes:
        bids: One row per block (twin.markets.bidding.BidBlock fields).
        holdout: The prediction scored on the held-out days (evaluate_holdout rows, for all
            slots and for the run's hours of day).
        signals: Per-step series for the EMS, by signal name.
        summary: The `bids` block of summary.json.
    """

    bids: pd.DataFrame
    holdout: pd.DataFrame
    signals: dict[str, np.ndarray] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _sessions(scenario: Scenario, spec: BiddingSpec) -> tuple[pd.DataFrame, list[str]]:
    evs = [ev for name, f in scenario.fleets.items() for ev in ev_ids(name, f.count)]
    if spec.history is not None:
        sessions = read_session_history(spec.history)
        return sessions[sessions["arrival"] < pd.Timestamp(scenario.start_local)], evs
    frames = [
        fleet_session_history(name, f, scenario.start_local, spec.history_days, scenario.seed)
        for name, f in scenario.fleets.items()
        if f.count
    ]
    return pd.concat(frames, ignore_index=True), evs


def _power_per_ev_kw(scenario: Scenario, given: float | None) -> float:
    if given is not None:
        return given
    powers = [
        min(f.vehicle.ac_max_kw, f.charger.max_kw)
        for f in scenario.fleets.values()
        if f.vehicle.bidirectional and f.charger.bidirectional and f.count
    ]
    if not powers:
        raise HistoryError("market.bidding.regulation", "no bidirectional fleet to bid with")
    return float(min(powers))


def _schedule_kw(
    series: dict[str, np.ndarray], scenario: Scenario, blocks: list[tuple[Any, Any]]
) -> list[float]:
    """|b| per block: the largest FEMS request in the block, as average kW of its 30-min slot
    (the retail schedule is declared before the regulation gate; 0 without one)."""
    fems = series.get("fems_kwh")
    start = pd.Timestamp(scenario.start_local)
    out = []
    for s, e in blocks:
        if fems is None or not fems.size:
            out.append(0.0)
            continue
        a = int((s - start).total_seconds() // scenario.step)
        b = int((e - start).total_seconds() // scenario.step)
        window = fems[max(a, 0) : max(b, 0)]
        out.append(float(np.abs(window).max() * 3600.0 / FEMS_SLOT_S) if window.size else 0.0)
    return out


def _holdout(
    scenario: Scenario,
    spec: BiddingSpec,
    sessions: pd.DataFrame,
    evs: list[str],
) -> pd.DataFrame:
    end = pd.Timestamp(scenario.start_local).tz_convert("UTC")
    first = pd.Timestamp(sessions["arrival"].min()) if len(sessions) else end
    start = max(end - pd.Timedelta(days=spec.history_days), first.floor("D"))
    cut = end - pd.Timedelta(days=spec.holdout_days)
    prediction = fit_usage(sessions, evs, start, cut, scenario.timezone)
    times = slot_times(cut, end)
    run_hours = {
        int(h)
        for h in (
            pd.Timestamp(scenario.start_local)
            + pd.to_timedelta(np.arange(0, scenario.duration, 1800), unit="s")
        ).hour
    }
    local_hours = np.asarray(times.tz_convert(scenario.timezone).hour)
    in_run_hours = np.isin(local_hours, sorted(run_hours))
    weekday = (week_slot(times, scenario.timezone) // (86_400 // 1800)) < 5
    tables = []
    for label, mask in (
        ("all slots", None),
        ("run hours, weekdays", in_run_hours & weekday),
    ):
        table = evaluate_holdout(prediction, sessions, cut, end, (0.5, 0.9), mask)
        table.insert(0, "slots", label)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def plan_bids(scenario: Scenario, series: dict[str, np.ndarray]) -> BidPlan | None:
    """The run's bids and their held-out score, or None without `market.bidding`.

    Raises:
        HistoryError: the history cannot be read or does not cover a gate's training window.
    """
    market = scenario.market
    spec = market.bidding if market is not None else None
    if spec is None:
        return None
    sessions, evs = _sessions(scenario, spec)
    if sessions.empty:
        raise HistoryError("market.bidding", "the history holds no session before the run")
    holdout = _holdout(scenario, spec, sessions, evs)
    blocks: list[BidBlock] = []
    signals: dict[str, np.ndarray] = {}
    if spec.regulation is not None:
        if not any(getattr(s, "type", None) == "regulation" for s in scenario.ems.services):
            # Bids nobody delivers would only be penalised: say so before the run.
            raise HistoryError(
                "market.bidding.regulation", "needs a regulation service in ems.services"
            )
        rb = spec.regulation
        run_start = pd.Timestamp(scenario.start_local).tz_convert("UTC")
        starts = run_start + pd.to_timedelta(np.arange(0, scenario.duration, rb.block), unit="s")
        spans = [
            (
                s,
                min(
                    s + pd.Timedelta(seconds=rb.block),
                    run_start + pd.Timedelta(seconds=scenario.duration),
                ),
            )
            for s in starts
        ]
        cutoff = earliest_gate(spans, rb.gate, scenario.timezone)
        first = pd.Timestamp(sessions["arrival"].min()).floor("D")
        train_start = max(cutoff - pd.Timedelta(days=spec.history_days), first)
        if (cutoff - train_start) < pd.Timedelta(days=7):
            raise HistoryError(
                "market.bidding.history",
                f"less than a week of history before the gate {cutoff.isoformat()}",
            )
        prediction = fit_usage(sessions, evs, train_start, cutoff, scenario.timezone)
        blocks = size_blocks(
            prediction,
            "regulation",
            rb.gate,
            spans,
            spec.confidence,
            _power_per_ev_kw(scenario, rb.power_per_ev_kw),
            _schedule_kw(series, scenario, spans),
            rb.max_kw,
            rb.step_kw,
        )
        block_of_step = (np.arange(scenario.n_steps) * scenario.step) // rb.block
        capacity = np.array([b.capacity_kw for b in blocks])
        signals[REGULATION_CAPACITY_SIGNAL] = capacity[np.minimum(block_of_step, len(capacity) - 1)]
    bids = bids_frame(blocks)
    summary: dict[str, Any] = {
        "confidence": spec.confidence,
        "history": spec.history or f"fleet model, {spec.history_days} days before the run",
        "sessions": int(len(sessions)),
        "blocks": len(blocks),
    }
    if blocks:
        hours = np.array([(b.end - b.start).total_seconds() / 3600.0 for b in blocks])
        summary.update(
            product=blocks[0].product,
            gate=blocks[0].gate,
            first_gate_closure=min(b.gate_closure for b in blocks).isoformat(),
            information_cutoff=blocks[0].information_cutoff.isoformat(),
            capacity_kwh=float((capacity * hours).sum()),
            capacity_kw_mean=float(capacity.mean()),
        )
    return BidPlan(bids=bids, holdout=holdout, signals=signals, summary=summary)


def bid_outcome(bids: pd.DataFrame, time_utc: pd.Series, plugged: np.ndarray) -> dict[str, Any]:
    """The bids against the run: per block the fewest EVs plugged, and over the blocks the plan
    share of the registered count that was there (mean of min(plugged, registered) / registered
    x 100 over the steps of blocks with EVs registered; by count: the results hold no EV ids) and the share of blocks that had fewer EVs than registered."""
    if bids.empty:
        return {}
    t = pd.to_datetime(time_utc, utc=True)
    accuracy, short = [], 0
    for row in bids.itertuples(index=False):
        m = ((t >= row.start) & (t < row.end)).to_numpy()
        if not m.any() or row.registered_evs <= 0:
            continue
        there = plugged[m]
        accuracy.append(np.minimum(there, row.registered_evs).mean() / row.registered_evs)
        short += int(there.min() < row.registered_evs)
    return {
        "run_registered_there_percent": float(np.mean(accuracy) * 100.0) if accuracy else None,
        "run_blocks_short": short,
        "run_blocks_scored": len(accuracy),
    }
