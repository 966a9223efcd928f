"""Reading a run folder back: its tables (finished or the parts of an interrupted run) and its
summary; a folder that is not a run is a ResultsError saying what is missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from twin.results import columns as col


class ResultsError(Exception):
    """A results folder that cannot be read; the message says what is missing."""


def read_table(run_dir: Path | str, table: str = col.TIMESERIES) -> pd.DataFrame:
    """Read a finished table or the parts of an interrupted run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ResultsError(f"{run_dir}: not a results folder (no such directory)")
    merged = run_dir / col.table_file(table)
    if merged.exists():
        return pd.read_parquet(merged)
    parts = sorted((run_dir / col.parts_dir(table)).glob("part-*.parquet"))
    if parts:
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    raise ResultsError(
        f"{run_dir}: no {table}.parquet (and no partial parts) - is this a run folder?"
    )


def read_summary(run_dir: Path | str) -> dict[str, Any]:
    path = Path(run_dir) / col.SUMMARY_FILE
    if not path.exists():
        raise ResultsError(f"{run_dir}: no summary.json - is this a run folder?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ResultsError(f"{path}: not valid JSON ({err})") from None
