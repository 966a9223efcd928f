"""scenarios/tertiary_reserve.yaml: in-band rate per 30-min slot (Toyota V2G demo: 100 %)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.world import prepare_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    scenario = load_scenario(ROOT / "scenarios" / "tertiary_reserve.yaml")
    out = tmp_path_factory.mktemp("reserve")
    outcome = prepare_run(scenario, out).run(progress=False)
    return outcome, read_table(out)


def test_in_band_rate_per_slot_reported_and_recomputed(run):
    outcome, table = run
    kpis = outcome.summary["kpis"]
    slots = kpis["in_band_per_slot"]
    assert len(slots) == 6  # one 3-h block = six 30-min slots
    assert kpis["in_band_rate_per_slot_percent"] == pytest.approx(100.0)
    t = pd.to_datetime(table["time"], utc=True)
    for slot in slots:
        start = pd.Timestamp(slot["start"])
        inside = (t >= start) & (t < start + pd.Timedelta(minutes=30))
        assert inside.sum() == 30
        commanded = table["signal.reserve_reduction_kw"][inside].mean()
        delivered = (0.0 - table["phev.p_kw"][inside]).mean()  # declared baseline 0 kW
        assert commanded > 0
        assert slot["commanded_kw"] == pytest.approx(commanded)
        assert slot["delivered_kw"] == pytest.approx(delivered)
        assert abs(delivered - commanded) <= 0.1 * commanded
    assert kpis["in_band_minutes"] == 180


def test_floor_kept(run):
    outcome, _ = run
    assert outcome.summary["kpis"]["per_fleet"]["phev"]["soc_min"] >= 0.5 - 1e-9


def test_in_band_also_reported_against_the_uncontrolled_fleet(run):
    outcome, table = run
    kpis = outcome.summary["kpis"]
    active = table["ems.reserve_active"] > 0.5
    true_kwh = (table["phev_baseline.p_kw"] - table["phev.p_kw"])[active].sum() / 60
    assert kpis["reserve_delivered_vs_uncontrolled_kwh"] == pytest.approx(true_kwh)
    assert kpis["in_band_vs_uncontrolled_rate_per_slot_percent"] == pytest.approx(100.0)


def test_a_forecast_baseline_is_declared_ahead_and_cannot_grade_itself(tmp_path):
    # baseline_kw: null used to mean "the plan of the services before": 100 % in band while
    # delivering about 0 kW against the uncontrolled fleet. Now it is a forecast declared at
    # 11:00 (1 h before the 12:00 block) and frozen.
    scenario = load_scenario(
        ROOT / "scenarios" / "tertiary_reserve.yaml", {"ems.services.1.baseline_kw": None}
    )
    outcome = prepare_run(scenario, tmp_path / "forecast").run(progress=False)
    kpis, table = outcome.summary["kpis"], read_table(tmp_path / "forecast")
    active = table["ems.reserve_active"] > 0.5
    assert kpis["reserve_baseline"] == "forecast declared 1 h ahead"
    assert table["ems.reserve_baseline_late"].max() == 0.0
    # The cars are at their 95 % target at 11:00: the forecast is 0 kW for the whole block.
    assert np.allclose(table["ems.reserve_baseline_kw"][active], 0.0)
    true_kwh = (table["phev_baseline.p_kw"] - table["phev.p_kw"])[active].sum() / 60
    assert true_kwh == pytest.approx(kpis["reserve_commanded_kwh"], rel=0.02)
    assert kpis["in_band_vs_uncontrolled_rate_per_slot_percent"] == pytest.approx(100.0)
