"""The run's settlement ledger file: settle the results table, chain it, write ledger.jsonl.

The ledger's head hash and entry count go into summary.json beside the totals, so `twin verify`
can tell a truncated ledger from a whole one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from twin.config.schema import Scenario
from twin.markets.ledger import chain, write_ledger
from twin.markets.settlement import settle, totals
from twin.results import columns as col
from twin.results.run_folder import note_written


def write_run_ledger(out_dir: Path, scenario: Scenario, table: pd.DataFrame) -> dict[str, Any]:
    """Write `ledger.jsonl` into the run folder; returns the summary's `ledger` block."""
    assert scenario.market is not None
    entries = chain(settle(table, scenario.step, scenario.market))
    path = out_dir / col.LEDGER_FILE
    note_written(out_dir, path.with_suffix(".tmp"), path)
    write_ledger(path, entries)
    return {
        "file": col.LEDGER_FILE,
        "entries": len(entries),
        "head_hash": entries[-1]["hash"] if entries else None,
        "currency": scenario.market.currency,
        "interval_s": scenario.market.interval,
        "totals": totals(entries),
    }
