"""Settlement ledger (twin/markets): a real run of scenarios/tertiary_reserve.yaml and of a
shortened v2g_regulation (regulation + FEMS), checked with plain pandas arithmetic written here
from the product rules in docs/markets.md, and `twin verify` on the ledger file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.world import prepare_run


def _run(tmp_path_factory, name: str, **overrides):
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml", overrides=overrides or None)
    out = tmp_path_factory.mktemp(name)
    outcome = prepare_run(scenario, out).run(progress=False)
    return scenario, out, outcome.summary, read_table(out)


@pytest.fixture(scope="module")
def reserve_run(tmp_path_factory):
    return _run(tmp_path_factory, "tertiary_reserve")


@pytest.fixture(scope="module")
def regulation_run(tmp_path_factory):
    return _run(tmp_path_factory, "v2g_regulation", duration="3h")


def _entries(out):
    return [json.loads(line) for line in (out / "ledger.jsonl").read_text().splitlines()]


def _verify(path):
    return subprocess.run(
        [sys.executable, "-m", "twin.cli", "verify", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_reserve_ledger_reconciles_with_the_time_series(reserve_run):
    scenario, out, summary, table = reserve_run
    prices = scenario.market.reserve
    dt_h = scenario.step / 3600
    p = table["phev.p_kw"].to_numpy()
    active = table["ems.reserve_active"].to_numpy() > 0.5
    delivered_kw = (table["ems.reserve_baseline_kw"].to_numpy() - p) * active
    commanded_kw = table["ems.reserve_command_kw"].to_numpy() * active
    frame = pd.DataFrame(
        {
            "k": np.floor(table["time_s"].to_numpy() / 1800).astype(int),
            "dlv": delivered_kw * dt_h,
            "cmd": commanded_kw * dt_h,
            "act": active,
        }
    )
    per = frame.groupby("k").agg(dlv=("dlv", "sum"), cmd=("cmd", "sum"), act=("act", "any"))
    per = per[per["act"]]
    pay = (
        prices.energy_price_per_kwh
        * np.minimum(per["dlv"].clip(lower=0), (1 + prices.band) * per["cmd"])
        + prices.availability_price_per_kw_h * per["cmd"]
    )
    pen = prices.penalty_per_kwh * ((1 - prices.band) * per["cmd"] - per["dlv"]).clip(lower=0)
    rows = [e for e in _entries(out) if e["product"] == "reserve"]
    assert len(rows) == len(per) == 6  # one 3-h block in 30-min intervals
    got = pd.DataFrame(rows)
    assert got["delivered_kwh"].to_numpy() == pytest.approx(per["dlv"].to_numpy(), abs=1e-6)
    assert got["payment"].to_numpy() == pytest.approx(pay.to_numpy(), abs=1e-6)
    assert got["penalty"].to_numpy() == pytest.approx(pen.to_numpy(), abs=1e-6)
    # energy over the whole run equals the interval sums (nothing lost at interval edges)
    assert got["delivered_kwh"].sum() == pytest.approx(delivered_kw.sum() * dt_h, abs=1e-6)
    tot = summary["ledger"]["totals"]["reserve"]
    assert tot["payment"] == pytest.approx(pay.sum(), abs=1e-6)
    assert tot["net"] == pytest.approx(pay.sum() - pen.sum(), abs=1e-6)
    assert tot["payment"] > 0


def test_customer_bill_with_and_without_the_service(reserve_run):
    scenario, out, summary, table = reserve_run
    price = scenario.market.customer.energy_price_per_kwh
    dt_h = scenario.step / 3600
    bill = (table["phev.p_kw"] * price * dt_h).sum()
    bill0 = (table["phev_baseline.p_kw"] * price * dt_h).sum()
    tot = summary["ledger"]["totals"]["customer_bill:phev"]
    assert tot["bill"] == pytest.approx(bill, abs=1e-6)
    assert tot["bill_without_service"] == pytest.approx(bill0, abs=1e-6)


def test_regulation_paid_by_the_hours_pjm_score_and_fems_by_kwh(regulation_run):
    scenario, out, summary, table = regulation_run
    rows = _entries(out)
    reg = [e for e in rows if e["product"] == "regulation"]
    fems = [e for e in rows if e["product"] == "fems"]
    assert reg and fems
    hourly = summary["kpis"]["pjm_hourly_score"]
    price = scenario.market.regulation
    t0 = pd.to_datetime(table["time"], utc=True).iloc[0]
    for e in reg:
        start = pd.Timestamp(e["interval_start"])
        hour = int((start - t0).total_seconds() // 3600)
        score = hourly[hour]
        assert e["performance"] == pytest.approx(score)
        expected = price.capacity_price_per_kw_h * e["capacity_kwh"] * score
        assert e["payment"] == pytest.approx(expected if score >= price.pass_score else 0.0)
    # FEMS: requested kWh per interval = the slot's request (30-min intervals = slots)
    dt_h = scenario.step / 3600
    k = np.floor(table["time_s"].to_numpy() / 1800).astype(int)
    req = table["signal.fems_kwh"].groupby(k).first()
    dlv = (table["phev.p_kw"] * dt_h).groupby(k).sum()
    for e, (kk, r) in zip(fems, req[req != 0].items(), strict=True):
        assert e["commanded_kwh"] == pytest.approx(r, abs=1e-6)
        assert e["delivered_kwh"] == pytest.approx(dlv[kk], abs=1e-6)


def test_verify_passes_then_names_the_interval_of_one_changed_byte(reserve_run, tmp_path):
    _, out, _, _ = reserve_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    ok = _verify(copy)
    assert ok.returncode == 0 and "ok, " in ok.stdout, ok.stderr
    ledger = copy / "ledger.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    target = 4
    entry = json.loads(lines[target])
    # change one digit of one delivered value (one byte)
    text = lines[target].decode()
    i = text.index('"delivered_kwh":') + len('"delivered_kwh":') + 2
    digit = text[i]
    assert digit.isdigit()
    lines[target] = (text[:i] + ("1" if digit != "1" else "2") + text[i + 1 :]).encode()
    ledger.write_bytes(b"".join(lines))
    bad = _verify(copy)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr
    assert f"entry {target} " in bad.stderr
    assert entry["interval_start"] in bad.stderr and entry["product"] in bad.stderr


def test_verify_sees_a_cut_tail_and_a_missing_ledger(reserve_run, tmp_path):
    _, out, _, _ = reserve_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    ledger = copy / "ledger.jsonl"
    ledger.write_bytes(b"".join(ledger.read_bytes().splitlines(keepends=True)[:-1]))
    cut = _verify(copy)
    assert cut.returncode == 1 and "summary.json recorded" in cut.stderr
    ledger.unlink()
    missing = _verify(copy)
    assert missing.returncode == 2 and "no ledger" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_bad_market_section_names_the_field(tmp_path):
    from twin.config import ScenarioError

    with pytest.raises(ScenarioError) as err:
        load_scenario(
            ROOT / "scenarios" / "tertiary_reserve.yaml",
            overrides={"market.reserve.penalty_per_kwh": -1},
        )
    assert "market.reserve.penalty_per_kwh" in str(err.value)
