"""scenarios/vpp_day.yaml (5,000 fleet EVs, bookings + reserve + capacity + customer EM): the
ledger's capacity and booking-conflict entries recomputed with pandas from the time series, the
totals reconciled to 1e-6, the stack's order visible in the recorded power, and the bill with and
without the VPP from the fleet's own baseline shadow."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.world import prepare_run

DT_H = 5 / 60


@pytest.fixture(scope="module")
def vpp(tmp_path_factory):
    scenario = load_scenario(ROOT / "scenarios" / "vpp_day.yaml")
    out = tmp_path_factory.mktemp("vpp_day")
    outcome = prepare_run(scenario, out).run(progress=False)
    entries = [json.loads(x) for x in (out / "ledger.jsonl").read_text().splitlines()]
    table = read_table(out)
    table["slot"] = (table["time_s"] // 1800).astype(int)
    return scenario, outcome.summary, table, entries


def test_at_least_5000_evs_and_every_product_settled(vpp):
    scenario, summary, _, entries = vpp
    assert sum(f.count for f in scenario.fleets.values()) >= 5000
    assert {e["product"] for e in entries} >= {"reserve", "capacity", "customer_bill"}
    assert summary["status"] == "completed"


def test_capacity_entries_from_the_time_series(vpp):
    _, _, table, entries = vpp
    local = pd.to_datetime(table["time_local"])
    peak = (local.dt.hour >= 17) & (local.dt.hour < 20)
    p = table["pool.p_kw"] + table["vans.p_kw"]
    available = (p - table["ems.feasible_lo_kw"])[peak]
    by_slot = available.groupby(table["slot"][peak]).agg(["mean", "size"])
    got = [e for e in entries if e["product"] == "capacity"]
    assert len(got) == len(by_slot) == 6  # 17:00-20:00 in 30-min slots
    for e, (_, row) in zip(got, by_slot.iterrows(), strict=True):
        hours = row["size"] * DT_H
        assert e["available_kw"] == pytest.approx(row["mean"], abs=1e-6)
        assert e["payment"] == pytest.approx(1.0 * min(row["mean"], 6000.0) * hours, abs=1e-6)
        assert e["penalty"] == pytest.approx(3.0 * max(6000.0 - row["mean"], 0.0) * hours, abs=1e-6)


def test_bookings_come_first_and_their_cost_is_recorded(vpp):
    _, _, table, entries = vpp
    plugged = (table["pool.plugged_count"] + table["vans.plugged_count"]).to_numpy()
    active = table["ems.reserve_active"].to_numpy() > 0.5
    reserve = [e for e in entries if e["product"] == "reserve"]
    assert reserve, "the reserve blocks were settled"
    total_drops = 0.0
    for e in reserve:
        m = (
            table["slot"]
            == int(
                pd.Timestamp(e["interval_start"]).timestamp() // 1800
                - table["time"].iloc[0].timestamp() // 1800
            )
        ).to_numpy() & active
        idx = np.flatnonzero(m)
        drops = np.maximum(plugged[idx[:-1]] - plugged[idx[1:]], 0.0)
        assert e["booking_departures"] == pytest.approx(drops.sum())
        left_h = (idx.size - 1 - np.arange(idx.size - 1)) * DT_H
        assert e["booking_lost_kwh"] == pytest.approx((drops * 6.0 * left_h).sum(), abs=1e-6)
        shortfall = max(0.0, 0.9 * e["commanded_kwh"] - e["delivered_kwh"])
        assert e["booking_conflict_cost"] == pytest.approx(
            30.0 * min(shortfall, e["booking_lost_kwh"]), abs=1e-6
        )
        total_drops += drops.sum()
    # the evening bookings (18:00 +- 1 h) really take pool cars out during the blocks
    assert total_drops > 100


def test_totals_reconcile_and_the_bill_compares_with_the_baseline_shadow(vpp):
    _, summary, table, entries = vpp
    totals = summary["ledger"]["totals"]
    for product in ("reserve", "capacity"):
        mine = [e for e in entries if e["product"] == product]
        assert totals[product]["payment"] == pytest.approx(
            sum(e["payment"] for e in mine), abs=1e-6
        )
        assert totals[product]["penalty"] == pytest.approx(
            sum(e["penalty"] for e in mine), abs=1e-6
        )
    price = table["signal.price_per_kwh"]
    for fleet in ("pool", "vans"):
        bill = (table[f"{fleet}.p_kw"] * price).sum() * DT_H
        without = (table[f"{fleet}_baseline.p_kw"] * price).sum() * DT_H
        got = totals[f"customer_bill:{fleet}"]
        assert got["bill"] == pytest.approx(bill, abs=1e-6)
        assert got["bill_without_service"] == pytest.approx(without, abs=1e-6)
        # customer EM moves charging to the cheap rate: less per kWh than plug-and-charge
        assert bill / got["energy_kwh"] < without / got["baseline_energy_kwh"]
