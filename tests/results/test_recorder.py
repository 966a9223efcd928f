"""RunRecorder: rows arrive in blocks, parts never exceed chunk_steps rows, a time-based flush
writes what is buffered, and the merged table is every row once, in order."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from twin.results.readers import read_table
from twin.results.recorder import RunRecorder


def test_blocks_are_cut_into_parts_of_chunk_steps_and_merge_back_in_order(tmp_path):
    now = [0.0]
    rec = RunRecorder(tmp_path, chunk_steps=5, flush_interval_s=1e9, clock=lambda: now[0])
    written = []
    for block in range(
        4
    ):  # 4 blocks of 7 rows = 28 rows -> parts of 5, 5, 5, 5, 5 and 3 at the end
        k = np.arange(block * 7, block * 7 + 7)
        rec.record_block(
            "timeseries", {"time_s": k, "x": k * 0.5, "label": [f"r{i}" for i in k]}, 7
        )
        written.extend(k.tolist())
        parts = sorted((tmp_path / "timeseries.parts").glob("part-*.parquet"))
        sizes = [pq.read_table(p).num_rows for p in parts]
        assert all(s == 5 for s in sizes) and sum(sizes) == (len(written) // 5) * 5
    rec.finalize()
    table = read_table(tmp_path, "timeseries")
    assert table["time_s"].tolist() == written
    assert np.array_equal(table["x"].to_numpy(), np.asarray(written) * 0.5)
    assert table["label"].tolist() == [f"r{i}" for i in written]
    assert not (tmp_path / "timeseries.parts").exists()


def test_a_slow_run_is_flushed_by_wall_time_and_arrays_become_columns(tmp_path):
    now = [0.0]
    rec = RunRecorder(tmp_path, chunk_steps=1000, flush_interval_s=5.0, clock=lambda: now[0])
    values = np.arange(6.0).reshape(3, 2)
    rec.record_array_block("grid_vm_pu", [10, 11, 12], ["bus1", "bus2"], values)
    assert not (tmp_path / "grid_vm_pu.parts").exists()  # neither full nor due
    now[0] = 6.0
    rec.record_array_block("grid_vm_pu", [13], ["bus1", "bus2"], np.array([[7.0, 8.0]]))
    parts = sorted((tmp_path / "grid_vm_pu.parts").glob("part-*.parquet"))
    assert len(parts) == 1 and pq.read_table(parts[0]).num_rows == 4
    table = read_table(tmp_path, "grid_vm_pu")
    assert table["time"].tolist() == [10, 11, 12, 13]
    assert table["bus1"].tolist() == [0.0, 2.0, 4.0, 7.0] and table["bus2"].tolist() == [
        1.0,
        3.0,
        5.0,
        8.0,
    ]
