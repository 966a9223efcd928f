"""Helpers for the CLI tests: the real `python -m twin.cli` in a subprocess, run from the repo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

TWIN = [sys.executable, "-m", "twin.cli"]
DEFAULT = ROOT / "scenarios" / "default.yaml"


def twin(*args: str | Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run `python -m twin.cli ARGS` from the repo root; COLUMNS wide so help lines never wrap."""
    return subprocess.run(
        [*TWIN, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "250", **env},
    )


@pytest.fixture
def scenario_file(tmp_path: Path):
    """Write default.yaml with top-level changes into tmp_path; returns the path."""

    def write(**changes) -> Path:
        data = yaml.safe_load(DEFAULT.read_text())
        data.update(changes)
        path = tmp_path / "scenario.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return write
