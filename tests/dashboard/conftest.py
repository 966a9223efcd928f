from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """A real 2 h run of the default scenario (8 steps of 15 min), written by `twin run`."""
    out = tmp_path_factory.mktemp("dashboard") / "run"
    subprocess.run(
        [sys.executable, "-m", "twin.cli", "run", "--out", str(out), "--set", "duration=2h"]
        + ["--no-progress"],
        cwd=ROOT,
        check=True,
        timeout=180,
        capture_output=True,
    )
    return out
