"""Run results on disk: Parquet time series, summary.json and the scenario as run.

Layout of `results/<run>/`:
- `timeseries.parquet`: wide table, one row per step; column `time` (UTC timestamp of the step
  start), then scalar columns with units in their names (README "What a run gives you").
- `grid_vm_pu.parquet`, `grid_line_loading_pct.parquet`, `grid_trafo_loading_pct.parquet`:
  one row per step, one column per element id (when `outputs.grid_detail`).
- `grid_topology.parquet`: those element ids' buses, lines and transformers, written once at the
  start by twin/results/grid_topology.py (not through the recorder: it is no time series).
- `summary.json`: status, KPIs, seed, versions, wall time.
- `scenario.yaml`: the scenario with every default filled in.

While a run goes, rows are written in chunks to `<table>.parts/part-NNNNN.parquet` (each part is a
complete Parquet file, written to a temporary name and renamed). A run killed at any point leaves
every finished part readable; `read_table` reads either form.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from twin.results import columns as col
from twin.results.run_folder import note_written


@dataclass(frozen=True)
class _Block:
    """Rows recorded in one call: columns of n values, or per-element values (n, len(ids))."""

    n: int
    columns: dict[str, Any]
    matrix: np.ndarray | None = None
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Pending:
    """A table's unwritten blocks and the number of its next part. Replaced as a whole after a
    part is written, so a Ctrl-C at any moment never loses or repeats a row."""

    blocks: tuple[_Block, ...] = ()
    next_part: int = 0
    rows: int = 0
    """Rows in `blocks`."""


class RunRecorder:
    """Buffers rows per table and flushes them as Parquet parts of `chunk_steps` rows, or after
    `flush_interval_s` of wall time since the last flush, whichever comes first (so a killed
    short run with slow steps still leaves its rows, and a fast long run writes few parts).
    Rows arrive in blocks (record_block); a part never holds more than `chunk_steps` rows.

    Args:
        out_dir: results folder.
        chunk_steps: rows per part at most.
        flush_interval_s: wall time between flushes at most, s.
        clock: monotonic clock, s (injectable for tests).
    """

    def __init__(
        self,
        out_dir: Path,
        chunk_steps: int = 2000,
        flush_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.chunk_steps = chunk_steps
        self.flush_interval_s = flush_interval_s
        self._clock = clock
        self._last_flush: dict[str, float] = defaultdict(clock)
        self._pending: dict[str, _Pending] = defaultdict(_Pending)
        self.rows_written: dict[str, int] = {}
        """Rows of each table file as finalize() wrote it (read back from the merged table)."""

    def record_block(self, table: str, columns: dict[str, Any], n: int) -> None:
        """Append `n` rows given as columns (each a sequence of n values)."""
        for key, values in columns.items():
            if len(values) != n:
                raise ValueError(f"{table}.{key}: {len(values)} values for {n} rows")
        self._append(table, _Block(n, dict(columns)))

    def record_array_block(
        self, table: str, times: list[Any], ids: list[str], values: np.ndarray
    ) -> None:
        """Append one row per time of per-element values (`values` is (len(times), len(ids))),
        written as columns `time`, then one per id."""
        # Kept as 2-D blocks and turned into columns at flush: hundreds of per-element columns
        # per step cost more than the power flow in a per-step run.
        values = np.asarray(values, dtype=float)
        if values.shape != (len(times), len(ids)):
            raise ValueError(
                f"{table}: values of shape {values.shape} for {len(times)} rows x {len(ids)} ids"
            )
        self._append(table, _Block(len(times), {col.TIME: list(times)}, values.copy(), tuple(ids)))

    def _append(self, table: str, block: _Block) -> None:
        pending = self._pending[table]
        # One assignment: the block is either recorded or not, whatever interrupts.
        pending = self._pending[table] = replace(
            pending, blocks=(*pending.blocks, block), rows=pending.rows + block.n
        )
        while pending.rows >= self.chunk_steps:
            self._flush(table, self.chunk_steps)
            pending = self._pending[table]
        if self._clock() - self._last_flush[table] >= self.flush_interval_s:
            self._flush(table)

    def _flush(self, table: str, rows: int | None = None) -> None:
        """Write the pending rows of `table` (or only the first `rows`) as its next part."""
        self._last_flush[table] = self._clock()
        pending = self._pending[table]
        count = pending.rows
        if not count:
            return
        take = count if rows is None else min(rows, count)
        blocks = pending.blocks
        joined = {key: _joined([b.columns[key] for b in blocks]) for key in blocks[0].columns}
        matrices = [b.matrix for b in blocks if b.matrix is not None]
        matrix = np.vstack(matrices) if blocks[0].matrix is not None else None
        columns = {key: values[:take] for key, values in joined.items()}
        if matrix is not None:
            columns.update(zip(blocks[0].ids, matrix[:take].T, strict=True))
        parts_dir = self.out_dir / col.parts_dir(table)
        final = parts_dir / f"part-{pending.next_part:05d}.parquet"
        tmp = final.with_suffix(".tmp")
        note_written(self.out_dir, tmp, final)
        parts_dir.mkdir(exist_ok=True)
        pq.write_table(pa.table(columns), tmp)
        os.replace(tmp, final)
        # A block cut by the chunk size leaves its tail for the next part.
        rest = (
            ()
            if take == count
            else (
                _Block(
                    count - take,
                    {k: v[take:] for k, v in joined.items()},
                    None if matrix is None else matrix[take:],
                    blocks[0].ids,
                ),
            )
        )
        self._pending[table] = _Pending(
            blocks=rest, next_part=pending.next_part + 1, rows=count - take
        )

    def flush(self) -> None:
        for table in list(self._pending):
            self._flush(table)

    def finalize(self) -> None:
        """Flush and merge parts into one Parquet file per table (parts removed afterwards)."""
        self.flush()
        for parts_dir in sorted(self.out_dir.glob(f"*{col.PARTS_SUFFIX}")):
            table = parts_dir.name[: -len(col.PARTS_SUFFIX)]
            # One chunk: the merged file's layout must not depend on where the parts were cut
            # (time-based flushes), so the same run gives the same bytes.
            parts = sorted(parts_dir.glob("part-*.parquet"))
            merged = pa.concat_tables([pq.read_table(p) for p in parts]).combine_chunks()
            target = self.out_dir / col.table_file(table)
            tmp = target.with_suffix(".tmp")
            note_written(self.out_dir, tmp, target)
            pq.write_table(merged, tmp)
            os.replace(tmp, target)
            self.rows_written[table] = merged.num_rows
            # Only the parts merged: anything else in the folder is not the recorder's to delete.
            for part in parts:
                part.unlink()
            with contextlib.suppress(OSError):
                parts_dir.rmdir()


def _joined(blocks: list[Any]) -> Any:
    if len(blocks) == 1:
        return blocks[0]
    if isinstance(blocks[0], np.ndarray):  # a column is all arrays or all lists (time stamps)
        return np.concatenate(blocks)
    if isinstance(blocks[0], pa.Array):  # e.g. time_local (typed: a time zone)
        return pa.concat_arrays(blocks)
    return [v for b in blocks for v in b]
