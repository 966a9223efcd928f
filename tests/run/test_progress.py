"""`twin run`'s progress bar counts model steps (mosaik's counted simulated seconds as steps)."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys

from tests.conftest import ROOT
from twin.results import columns as col
from twin.run.progress import StepProgress


def test_bar_counts_steps_and_shows_the_simulated_time():
    out = io.StringIO()
    bar = StepProgress(total_steps=96, step_s=900, file=out, timezone="Asia/Tokyo")
    start = dt.datetime(2025, 6, 3, 15, tzinfo=dt.UTC)  # 00:00 in Tokyo
    for k in range(48):
        bar({col.TIME: start + dt.timedelta(seconds=900 * k), col.TIME_S: 900 * k}, {})
    bar.on_block(48, start + dt.timedelta(seconds=900 * 95))  # a block, as RecorderSim gives it
    bar.close()
    text = out.getvalue()
    assert "96/96" in text and " steps/s" in text
    assert "86400" not in text
    assert "sim time 2025-06-04 23:45" in text  # local time of the last step


def test_twin_run_shows_steps_not_seconds(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin.cli",
            "run",
            "--set",
            "duration=2h",
            "--set",
            "outputs.grid_detail=false",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr
    finals = re.findall(r"(\d+)/(\d+) \[", res.stderr)
    assert finals and finals[-1] == ("8", "8"), res.stderr  # 2 h at 15 min
    assert "7200/7200" not in res.stderr
