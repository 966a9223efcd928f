"""A results folder a pandas user reads without the source: every file of a run is in README's
results table, `time_local` is the study's local time, and `twin report`'s own files are the
run's (a later run into the folder removes them, so no stale report outlives its results)."""

from __future__ import annotations

import re
import shutil

import pandas as pd

from tests.conftest import ROOT
from tests.report.conftest import write_results
from twin.report.build import build_report
from twin.results import columns as col
from twin.results.readers import read_summary, read_table
from twin.results.run_folder import RunFolder


def _readme_patterns() -> list[re.Pattern[str]]:
    """The names in the first column of README's "What a run gives you" table, as patterns."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What a run gives you", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([^`]+)`", line.split("|")[1])
    assert names, "README has no results table"
    return [
        re.compile(
            "^" + re.escape(n).replace(r"\*", "[^/]+").replace(re.escape("<fleet>"), "[^/]+") + "$"
        )
        for n in names
    ]


def test_every_file_of_a_run_is_in_the_readme_table(default_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(default_run, run)
    build_report(run, only={"soc"})  # the report's own files count too
    patterns = _readme_patterns()
    files = sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file())
    assert col.table_file(col.GRID_DETAIL_TABLES["ev_p_mw"]) in files
    undocumented = [f for f in files if not any(p.match(f) for p in patterns)]
    assert undocumented == [], undocumented


def test_time_local_is_the_study_time_zone_of_time(default_run):
    table = read_table(default_run)
    summary = read_summary(default_run)
    assert summary["timezone"] == "Asia/Tokyo"
    local = pd.DatetimeIndex(table[col.TIME_LOCAL])
    assert str(local.tz) == "Asia/Tokyo"
    assert local.equals(pd.DatetimeIndex(table[col.TIME]).tz_convert("Asia/Tokyo"))
    assert local[0] == pd.Timestamp(summary["start"])  # 00:00 local, not 09:00
    assert list(table.columns[:3]) == [col.TIME, col.TIME_LOCAL, col.TIME_S]


def test_a_later_run_into_the_folder_removes_the_report(tmp_path):
    run = write_results(tmp_path / "run")
    owned = tmp_path / "owned"
    RunFolder.claim(owned).release()  # a folder a run owns: manifest + lock
    report = build_report(run, owned, only={"soc"})
    assert report.html_path == owned / col.REPORT_FILE and report.html_path.exists()
    manifest = (owned / col.RUN_MANIFEST_FILE).read_text(encoding="utf-8").split()
    assert col.REPORT_FILE in manifest and f"{col.FIGURES_DIR}/soc.png" in manifest
    RunFolder.claim(owned).release()  # the next run into it
    assert sorted(p.name for p in owned.iterdir()) == sorted(
        [col.RUN_LOCK_FILE, col.RUN_MANIFEST_FILE]
    )
