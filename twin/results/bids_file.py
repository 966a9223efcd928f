"""Writing a run's bids (`bids.parquet`) and its prediction's held-out score
(`prediction_holdout.csv`) into the results folder, before the run's first step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from twin.results import columns as col
from twin.results.run_folder import note_written

if TYPE_CHECKING:
    from twin.markets.bid_plan import BidPlan


def write_bid_plan(out_dir: Path, plan: BidPlan) -> None:
    """Both files, each noted in the run's manifest first (a later run may remove them)."""
    bids = out_dir / f"{col.BIDS_TABLE}.parquet"
    holdout = out_dir / col.PREDICTION_HOLDOUT_FILE
    note_written(out_dir, bids, holdout)
    plan.bids.to_parquet(bids, index=False)
    plan.holdout.to_csv(holdout, index=False)
