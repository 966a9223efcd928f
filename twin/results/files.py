"""Writing a run's files other than tables: summary.json (atomically) and scenario.yaml."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from twin.results.run_folder import note_written


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    note_written(path.parent, tmp, path)
    tmp.write_text(
        json.dumps(data, indent=2, sort_keys=False, default=_json_default), encoding="utf-8"
    )
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_scenario(path: Path, data: dict[str, Any]) -> None:
    note_written(path.parent, path)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in (
        "ev-fleet-twin",
        "mosaik",
        "pandapower",
        "simbench",
        "lightsim2grid",
        "numpy",
        "pandas",
    ):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
