"""What an interrupted, killed or crashing run leaves behind: real subprocesses, real files,
real signals. (The plain `twin run` / `twin report` exit-code and message tests are in tests/cli.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from tests.conftest import ROOT
from twin.results.readers import read_table

TWIN = [sys.executable, "-m", "twin.cli"]


def _scenario(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    data.update(changes)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


LONG_RUN_STEPS = 30 * 1440
"""A month at 1 min: long enough that the signal always lands mid-run, even on a busy machine
(a day at 1 min finished in the moment between the part appearing and the SIGINT)."""


def _start_long_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    path = _scenario(
        tmp_path,
        step="1min",
        duration="30d",
        outputs={"grid_detail": False, "chunk_steps": 20},
    )
    out = tmp_path / "res"
    proc = subprocess.Popen(
        [*TWIN, "run", str(path), "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_parts(proc, out, "part-0000[2-9].parquet")
    return proc, out


def _wait_for_parts(
    proc: subprocess.Popen, out: Path, pattern: str, timeout_s: float = 240
) -> None:
    """Poll until the run has written a part matching `pattern` (generous deadline: the run may
    share the machine with other CPU-bound work); fail clearly if it ends or never gets there."""
    deadline = time.monotonic() + timeout_s
    while not list((out / "timeseries.parts").glob(pattern)):
        assert proc.poll() is None, proc.communicate()
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {pattern} after {timeout_s} s: {proc.communicate()}")
        time.sleep(0.05)


def test_interrupted_run_leaves_readable_partial_results(tmp_path):
    proc, out = _start_long_run(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    table = read_table(out)
    assert 60 <= len(table) < LONG_RUN_STEPS
    assert summary["steps"] == len(table)
    # Rows are consecutive minutes from the start: nothing lost in the middle.
    gaps = pd.to_datetime(table["time"]).diff().dropna().dt.total_seconds()
    assert (gaps == 60).all()


def test_killed_run_keeps_finished_parts(tmp_path):
    proc, out = _start_long_run(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    table = read_table(out)
    assert len(table) >= 60 and len(table) % 20 == 0
    assert json.loads((out / "summary.json").read_text())["status"] == "running"


def test_killed_default_run_keeps_rows_and_report_says_so(tmp_path):
    # Default chunking (2000 rows) is far more than this run's 96 steps: the rows survive a
    # SIGKILL only because parts are also flushed every few seconds of wall time.
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            *TWIN,
            "run",
            str(ROOT / "scenarios" / "default.yaml"),
            "--out",
            str(out),
            "--no-progress",
            "--rt-factor",
            "0.0002",
        ],  # 0.18 s per 15-min step
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_parts(proc, out, "part-*.parquet")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    table = read_table(out)
    assert 5 <= len(table) < 96
    gaps = pd.to_datetime(table["time"]).diff().dropna().dt.total_seconds()
    assert (gaps == 900).all()
    report = subprocess.run([*TWIN, "report", str(out)], capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    assert f"{len(table)} of 96 steps recorded" in report.stderr
    assert "killed" in report.stderr


def test_a_crashing_run_is_recorded_as_failed_with_its_rows(tmp_path):
    from twin.catalog import load_scenario
    from twin.run.world import prepare_run

    scenario = load_scenario(ROOT / "scenarios" / "default.yaml", {"duration": "6h"})
    run = prepare_run(scenario, tmp_path / "crash")

    def crash(row, detail):
        if row["time_s"] == 3 * 3600:
            raise RuntimeError("observer bug")

    run.observers.append(crash)
    try:
        run.run(progress=False)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the crash was swallowed")
    summary = json.loads((tmp_path / "crash" / "summary.json").read_text())
    assert summary["status"] == "failed" and "observer bug" in summary["error"]
    table = read_table(tmp_path / "crash")
    assert table["time_s"].max() >= 2 * 3600 and summary["steps"] == len(table)


def test_hil_run_with_the_csms_port_taken_is_a_message(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = subprocess.run(
            [
                *TWIN,
                "run",
                str(ROOT / "scenarios" / "hil_lab.yaml"),
                "--set",
                f"hil.csms_port={port}",
                "--rt-factor",
                "0.0001",
                "--out",
                str(tmp_path / "out"),
                "--no-progress",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert (
        "hil.csms_port" in res.stderr and "cannot listen" in res.stderr and str(port) in res.stderr
    )
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["status"] == "invalid"
