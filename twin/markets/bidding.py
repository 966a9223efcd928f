"""Bids at gate closure: how much capacity the aggregator promises, per delivery block, sized from
the usage prediction at a confidence and recorded before delivery starts.

Gate closures (Toyota V2G demo): `week_ahead` = Tuesday 14:00 (local) for the week Saturday -
Friday that holds the block (tertiary (1)); `day_ahead` = 14:00 the day before (tertiary (2),
and what the twin uses for secondary (1) regulation). What the aggregator knows at the gate is
the history up to the gate, nothing later (`information_cutoff`).

Regulation capacity of a block (symmetric +-C around the higher-priority schedule b):
n plugged cars of charger power P can move the fleet within [-nP, +nP] (bidirectional), so
C <= n P - |b|; with n = the plugged count reached at the bid's confidence in the block's
worst slot, and C floored to the product's bid step and capped at `max_kw`:

    C = min(max_kw, floor_step(max(n_c P - |b|, 0)))

A conservative bid (confidence 0.9) promises what 9 slots in 10 would carry; an aggressive one
(0.5) what half of them would.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from twin.markets.prediction import UsagePrediction, slot_times

Gate = Literal["week_ahead", "day_ahead"]
GATE_HOUR = 14
SATURDAY = 5
TUESDAY = 1


def gate_closure(delivery_start: pd.Timestamp, gate: Gate, timezone: str) -> pd.Timestamp:
    """The gate closure (UTC) for a block starting at `delivery_start` (tz-aware)."""
    local = pd.Timestamp(delivery_start).tz_convert(timezone)
    day = local.normalize()
    if gate == "day_ahead":
        closes = day - pd.Timedelta(days=1) + pd.Timedelta(hours=GATE_HOUR)
    elif gate == "week_ahead":
        # the Saturday that opens the block's Saturday-Friday week, then the Tuesday before it
        saturday = day - pd.Timedelta(days=(local.weekday() - SATURDAY) % 7)
        closes = saturday - pd.Timedelta(days=(SATURDAY - TUESDAY)) + pd.Timedelta(hours=GATE_HOUR)
    else:
        raise ValueError(f"unknown gate {gate!r}; use week_ahead or day_ahead")
    return closes.tz_convert("UTC")


@dataclass(frozen=True)
class BidBlock:
    """One block of a bid, as recorded at the gate.

    Attributes:
        product: e.g. "regulation".
        gate: "week_ahead" / "day_ahead".
        gate_closure: When the bid was due (UTC).
        information_cutoff: The last moment of history the bid used (<= gate_closure).
        start, end: Delivery block (UTC).
        confidence: Share of slots the promised cars are expected to be there.
        plugged_evs: Plugged count at that confidence in the block's worst slot.
        registered_evs: EVs registered in the plan for the block.
        schedule_kw: Higher-priority schedule the capacity sits on (|b|).
        capacity_kw: The promised capacity.
    """

    product: str
    gate: str
    gate_closure: pd.Timestamp
    information_cutoff: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp
    confidence: float
    plugged_evs: int
    registered_evs: int
    schedule_kw: float
    capacity_kw: float


def regulation_capacity_kw(
    plugged: int, power_kw: float, schedule_kw: float, max_kw: float, step_kw: float
) -> float:
    """C = min(max_kw, floor_step(max(n P - |b|, 0))) (module doc)."""
    room = max(plugged * power_kw - abs(schedule_kw), 0.0)
    stepped = np.floor(room / step_kw + 1e-9) * step_kw if step_kw > 0 else room
    return float(min(max_kw, stepped))


def size_blocks(
    prediction: UsagePrediction,
    product: str,
    gate: Gate,
    blocks: list[tuple[pd.Timestamp, pd.Timestamp]],
    confidence: float,
    power_kw: float,
    schedule_kw: list[float],
    max_kw: float,
    step_kw: float = 1.0,
) -> list[BidBlock]:
    """Size every block of a delivery period from one prediction (fitted on the history up to
    the earliest gate of these blocks, so no block uses what was not known at its gate)."""
    out = []
    for (start, end), sched in zip(blocks, schedule_kw, strict=True):
        closes = gate_closure(start, gate, prediction.timezone)
        if prediction.train_end > closes:
            raise ValueError(
                f"the prediction was trained up to {prediction.train_end}, after the gate {closes}"
            )
        slots = slot_times(start, end, prediction.slot_s)
        counts = prediction.count_at(slots, confidence)
        n = int(counts.min()) if counts.size else 0
        out.append(
            BidBlock(
                product=product,
                gate=gate,
                gate_closure=closes,
                information_cutoff=prediction.train_end,
                start=pd.Timestamp(start).tz_convert("UTC"),
                end=pd.Timestamp(end).tz_convert("UTC"),
                confidence=confidence,
                plugged_evs=n,
                registered_evs=n,
                schedule_kw=float(abs(sched)),
                capacity_kw=regulation_capacity_kw(n, power_kw, sched, max_kw, step_kw),
            )
        )
    return out


def earliest_gate(
    blocks: list[tuple[pd.Timestamp, pd.Timestamp]], gate: Gate, tz: str
) -> pd.Timestamp:
    """The earliest gate closure of the blocks (the information cutoff of their prediction)."""
    return min(gate_closure(s, gate, tz) for s, _ in blocks)


def bids_frame(blocks: list[BidBlock]) -> pd.DataFrame:
    """The bids as a table (`bids.parquet`), one row per block."""
    return pd.DataFrame([dataclasses.asdict(b) for b in blocks])
