"""The run folder's manifest lists each path once, however often it is noted (a report written
again into the same folder must not grow it)."""

from __future__ import annotations

from twin.results import columns as col
from twin.results.run_folder import note_written


def test_a_path_noted_twice_is_listed_once(tmp_path):
    manifest = tmp_path / col.RUN_MANIFEST_FILE
    manifest.write_text("timeseries.parquet\n", encoding="utf-8")
    note_written(tmp_path, "report.html", tmp_path / "figures" / "power.png")
    note_written(tmp_path, "report.html", "timeseries.parquet", "figures/power.png")
    assert manifest.read_text(encoding="utf-8").splitlines() == [
        "timeseries.parquet",
        "report.html",
        "figures/power.png",
    ]
