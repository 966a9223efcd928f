"""Bids: gate closures on the calendar, the capacity rule worked by hand, a history that never
reaches past the run's start, and the study's bids on disk before delivery with the EMS and
the ledger holding exactly what was bid."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.markets.bidding import gate_closure, regulation_capacity_kw
from twin.markets.history import fleet_session_history
from twin.results.readers import read_table
from twin.run.world import prepare_run

TZ = "Asia/Tokyo"
STUDY = ROOT / "scenarios" / "v2g_bidding.yaml"


@pytest.mark.parametrize(
    ("block", "gate", "closes"),
    [
        # Wednesday 4 June 2025: day ahead = Tuesday 3 June 14:00
        ("2025-06-04 09:00", "day_ahead", "2025-06-03 14:00"),
        # its Saturday-Friday week starts Sat 31 May: the Tuesday before is 27 May
        ("2025-06-04 09:00", "week_ahead", "2025-05-27 14:00"),
        # a Saturday opens its own week: Tuesday 3 June
        ("2025-06-07 00:00", "week_ahead", "2025-06-03 14:00"),
        # a Friday is the last day of the week that began Sat 31 May
        ("2025-06-06 23:00", "week_ahead", "2025-05-27 14:00"),
        # a Monday's day-ahead gate is Sunday 14:00
        ("2025-06-09 00:30", "day_ahead", "2025-06-08 14:00"),
    ],
)
def test_gate_closures(block, gate, closes):
    got = gate_closure(pd.Timestamp(block, tz=TZ), gate, TZ)
    assert got == pd.Timestamp(closes, tz=TZ)


def test_capacity_rule():
    # 6 cars x 5.9 kW = 35.4 kW of range, 7.0 kW already used by the schedule: 28.4 -> 28 kW
    assert regulation_capacity_kw(6, 5.9, -7.0, 60.0, 1.0) == 28.0
    assert regulation_capacity_kw(15, 5.9, 12.0, 60.0, 1.0) == 60.0  # capped at the offer
    assert regulation_capacity_kw(2, 5.9, 12.4, 60.0, 1.0) == 0.0  # the schedule needs it all
    assert regulation_capacity_kw(3, 5.0, 0.0, 60.0, 0.0) == 15.0  # no bid step


def test_history_of_the_fleet_model_ends_at_the_run():
    scenario = load_scenario(STUDY)
    spec = scenario.fleets["phev"]
    before = scenario.start_local
    history = fleet_session_history("phev", spec, before, 28, scenario.seed)
    start = pd.Timestamp(before).tz_convert("UTC")
    assert history["departure"].max() <= start
    assert history["arrival"].min() >= start - pd.Timedelta(days=28)
    assert set(history["ev_id"]) == {f"phev:{i}" for i in range(15)}
    # staff trips on work days: on weekends every car stays plugged all day
    local = history["arrival"].dt.tz_convert(TZ)
    assert (local.dt.weekday[local.dt.hour.between(9, 16)] < 5).all()
    # another seed is another history, the same seed the same one
    again = fleet_session_history("phev", spec, before, 28, scenario.seed)
    other = fleet_session_history("phev", spec, before, 28, scenario.seed + 1)
    pd.testing.assert_frame_equal(history, again)
    assert not history.equals(other)


@pytest.fixture(scope="module")
def bid_run(tmp_path_factory):
    scenario = load_scenario(STUDY, {"duration": "6h"})
    out = tmp_path_factory.mktemp("v2g_bidding")
    prepared = prepare_run(scenario, out)
    bids_before = pd.read_parquet(out / "bids.parquet")  # written before the first step
    outcome = prepared.run(progress=False)
    return scenario, out, bids_before, outcome


def test_bids_are_on_disk_before_delivery_and_close_before_it(bid_run):
    scenario, out, bids, _ = bid_run
    assert len(bids) == 6  # 6 h in 1-h blocks
    assert (bids["gate_closure"] < bids["start"]).all()
    assert (bids["information_cutoff"] <= bids["gate_closure"]).all()
    assert (bids["gate_closure"] == pd.Timestamp("2025-06-03 14:00", tz=TZ)).all()
    pd.testing.assert_frame_equal(bids, pd.read_parquet(out / "bids.parquet"))
    # each block's capacity follows the rule from its own recorded inputs
    for row in bids.itertuples():
        assert row.capacity_kw == regulation_capacity_kw(
            row.plugged_evs, 5.9, row.schedule_kw, 60.0, 1.0
        )
    holdout = pd.read_csv(out / "prediction_holdout.csv")
    assert {"p50", "p90", "all_registered", "last_week"} <= set(holdout["predictor"])


def test_the_ems_tracks_what_was_bid_and_the_ledger_pays_it(bid_run):
    scenario, out, bids, outcome = bid_run
    table = read_table(out)
    t = pd.to_datetime(table["time"], utc=True)
    for row in bids.itertuples():
        in_block = ((t >= row.start) & (t < row.end)).to_numpy()
        assert np.all(table["ems.reg_capacity_kw"].to_numpy()[in_block] == row.capacity_kw)
    entries = [
        json.loads(line) for line in (out / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    capacity_kwh = sum(e["capacity_kwh"] for e in entries if e["product"] == "regulation")
    assert capacity_kwh == pytest.approx(float(bids["capacity_kw"].sum()) * 1.0, abs=1e-6)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["bids"]["capacity_kwh"] == pytest.approx(float(bids["capacity_kw"].sum()))
    assert summary["bids"]["gate"] == "day_ahead"


def test_a_bid_nobody_delivers_is_refused_before_the_run(tmp_path):
    from twin.catalog import ScenarioError

    services = [{"type": "fems_schedule", "order": 50}]  # no regulation service
    scenario = load_scenario(STUDY, {"duration": "1h", "ems.services": services})
    with pytest.raises(ScenarioError) as err:
        prepare_run(scenario, tmp_path / "run")
    assert err.value.problems == [
        ("market.bidding.regulation", "needs a regulation service in ems.services")
    ]


def test_a_broken_history_file_names_its_line(tmp_path):
    from twin.catalog import ScenarioError

    history = tmp_path / "sessions.csv"
    history.write_text(
        "ev_id,arrival,departure,energy_kwh\n"
        "phev:0,2025-05-01T09:00:00+09:00,2025-05-01T17:00:00+09:00,3.0\n"
        "phev:1,2025-05-01T09:00:00+09:00,2025-05-01T08:00:00+09:00,3.0\n"
    )
    scenario = load_scenario(STUDY, {"duration": "1h", "market.bidding.history": str(history)})
    with pytest.raises(ScenarioError) as err:
        prepare_run(scenario, tmp_path / "run")
    ((field, problem),) = err.value.problems
    assert field == "market.bidding.history"
    assert f"{history}:3" in problem and "departure must be after arrival" in problem
