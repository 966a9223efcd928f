"""`twin fleet-size SWEEP_DIR`: the registered EVs for a firm offer, read from a sweep's KPI table,
against the normal approximation worked out here; clear errors for folders that are no sweep."""

from __future__ import annotations

import math
import re

import pandas as pd

from tests.cli.conftest import twin

Z90 = 1.2815515655446004


def _sweep(tmp_path, firm_kw, status=None, evs=40):
    rows = [
        {
            "variant": f"seed={i}",
            "status": "completed" if status is None else status[i],
            "ufr_firm_kw": v,
            "ufr_registered_evs": evs,
            "ufr_plugged_evs": 10,
        }
        for i, v in enumerate(firm_kw)
    ]
    pd.DataFrame(rows).to_parquet(tmp_path / "sweep_kpis.parquet")
    return tmp_path


def test_fleet_size_for_1_mw_from_five_seeds(tmp_path):
    firm = [30.0, 50.0, 35.0, 45.0, 40.0]
    res = twin("fleet-size", _sweep(tmp_path, firm), "--target-mw", "1")
    assert res.returncode == 0, res.stderr
    mu = sum(firm) / len(firm) / 40
    var = sum((v - 40.0) ** 2 for v in firm) / (len(firm) - 1)
    sigma = math.sqrt(var / 40)
    expected = next(
        n for n in range(1, 10_000) if n * mu - Z90 * math.sqrt(n) * sigma >= 1000.0 - 1e-9
    )
    row = next(ln for ln in res.stdout.splitlines() if re.match(r"\W*1 ", ln))
    assert f"{expected:,}" in row, res.stdout
    assert "per plugged EV" in res.stdout  # 40 kW / 10 plugged = 4 kW


def test_failed_seeds_are_left_out(tmp_path):
    firm = [40.0, 40.0, 1e6]
    res = twin(
        "fleet-size",
        _sweep(tmp_path, firm, status=["completed", "completed", "failed"]),
        "--target-mw",
        "1",
    )
    assert res.returncode == 0, res.stderr
    assert "1,000" in res.stdout  # 1 MW / 1 kW per EV, no spread between the two left


def test_not_a_sweep_folder_is_a_clear_error(tmp_path):
    res = twin("fleet-size", tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "sweep_kpis.parquet" in res.stderr and "twin sweep" in res.stderr


def test_one_seed_is_not_enough(tmp_path):
    res = twin("fleet-size", _sweep(tmp_path, [40.0]))
    assert res.returncode == 2 and "need at least 2" in res.stderr, res.stderr


def test_a_kpi_that_is_not_a_number_is_a_clear_error(tmp_path):
    res = twin("fleet-size", _sweep(tmp_path, ["lots", "none"]))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "need at least 2" in res.stderr, res.stderr
