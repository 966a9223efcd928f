"""The live grid violation tally (twin.telemetry.violations_so_far): taken only where the run's
tally covers exactly the steps sent, so it never counts ahead of the message, and equal to
summary.json's `violations` at the end of a real run."""

from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import pytest
from telemetry_support import connect_pair, detail, fake_prepared, make_row

from twin.catalog import load_scenario
from twin.config import DEFAULT_SCENARIO
from twin.ems.grid_model import GridLimits
from twin.metrics.grid_violations import GridViolations
from twin.telemetry import TelemetryPublisher, TelemetrySubscriber
from twin.telemetry.snapshot import StepContent
from twin.telemetry.violations_so_far import ViolationsSoFar

STEP_S = 900
START = dt.datetime(2025, 6, 4, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def small_tally() -> GridViolations:
    """One bus (band 0.95..1.05 pu), one line, one transformer (both limited to 100 %)."""
    limits = GridLimits(
        vm_min_pu=np.array([0.95]),
        vm_max_pu=np.array([1.05]),
        line_max_pct=np.array([100.0]),
        trafo_max_pct=np.array([100.0]),
    )
    return GridViolations.for_run(limits, STEP_S, baseline=False)


def so_far(tally: GridViolations) -> ViolationsSoFar:
    ids = {"trafo": np.array([7]), "line": np.array([10]), "voltage": np.array([3])}
    names = {"trafo": ["T7"], "line": ["L10"], "voltage": ["B3"]}
    return ViolationsSoFar(tally, ids, names, START, STEP_S)


def count_block(tally: GridViolations, k0: int, trafo_pct: list[float]) -> None:
    """What the grid simulator does for a block: count all its steps at once."""
    n = len(trafo_pct)
    tally.controlled.add(
        k0,
        vm=np.full((n, 1), 1.0),
        line=np.full((n, 1), 50.0),
        trafo=np.array(trafo_pct).reshape(n, 1),
        converged=np.ones(n, dtype=bool),
    )


def test_a_block_is_taken_only_at_its_last_step():
    tally = small_tally()
    live = so_far(tally)
    # Block 0 (steps 0..2): step 1 is over the transformer limit by 20 points.
    count_block(tally, 0, [90.0, 120.0, 95.0])
    live.account(0 * STEP_S)
    live.account(1 * STEP_S)
    assert live.values() is None  # the tally already counts step 2: ahead of step 1's message
    live.account(2 * STEP_S)
    first = live.values()
    assert first is not None
    assert first["controlled"]["trafo_overload_steps"] == 1
    assert first["controlled"]["steps"] == 3
    assert first["controlled"]["element_hours"]["trafo"] == pytest.approx(0.25)  # 1 x 15 min
    worst = first["controlled"]["worst"]["trafo"]
    assert (worst["element"], worst["name"], worst["step"]) == (7, "T7", 1)
    assert worst["excess"] == pytest.approx(20.0)
    assert worst["time"] == "2025-06-04T00:15:00+09:00"
    assert first["limits"]["trafo_max_loading_pct"] == [100.0, 100.0]
    # Block 1 (steps 3..5): two more overloaded steps, one 30 points over.
    count_block(tally, 3, [130.0, 101.0, 80.0])
    live.account(3 * STEP_S)
    live.account(4 * STEP_S)
    assert live.values() == first  # mid-block: still the tally as of step 2
    live.account(5 * STEP_S)
    second = live.values()
    assert second is not None
    assert second["controlled"]["trafo_overload_steps"] == 3
    assert second["controlled"]["element_hours"]["trafo"] == pytest.approx(0.75)
    assert second["controlled"]["worst"]["trafo"]["step"] == 3
    assert second["controlled"]["worst"]["trafo"]["excess"] == pytest.approx(30.0)
    assert "baseline" not in second  # a run without the baseline grid has no baseline tally


def test_a_run_without_grid_views_has_no_tally(tmp_path):
    from types import SimpleNamespace

    assert ViolationsSoFar.of_run(SimpleNamespace(scenario=None)) is None
    assert ViolationsSoFar.of_run(SimpleNamespace(scenario=None, grid_views=None)) is None


def test_a_message_of_a_run_without_a_tally_says_null(tmp_path):
    prepared = fake_prepared(tmp_path)  # no grid_views: the publisher finds no tally
    pub = TelemetryPublisher("tcp://127.0.0.1:*", prepared)
    try:
        content = pub._content  # what the publisher built for this run
        assert content.violations is None
        step = content.account(make_row(0, (1.0, 0.0, 0.0), (0.0, 0.0, 0.0)), detail())
        assert content.content(step)["violations"] is None
    finally:
        pub.close()


@pytest.fixture(scope="module")
def live_run(tmp_path_factory):
    """A real 6 h default run in blocks of 8 steps, published (every step) to a subscriber and
    also turned into message content step by step (what each message carries)."""
    from twin.results.readers import read_summary, read_table
    from twin.run.world import prepare_run

    out = tmp_path_factory.mktemp("live") / "run"
    scenario = load_scenario(DEFAULT_SCENARIO, {"duration": "6h", "block_steps": 8})
    prepared = prepare_run(scenario, out)
    pub = TelemetryPublisher("tcp://127.0.0.1:*", prepared, min_interval_s=0.0)
    sub = TelemetrySubscriber(pub.address)
    pf = prepared.powerflow
    content = StepContent(
        prepared.scenario,
        prepared.fleets,
        {"bus": pf.bus_ids, "line": pf.line_ids, "trafo": pf.trafo_ids},
        out,
        violations=ViolationsSoFar.of_run(prepared),
    )
    per_step: list[tuple[int, dict | None]] = []

    def keep(row, detail):
        step = content.account(row, detail)
        block = content.content(step)["violations"]
        per_step.append((step.time_s // STEP_S, json.loads(json.dumps(block))))

    try:
        connect_pair(pub, sub, timeout_s=60.0)
        prepared.observers += [pub, keep]
        prepared.run(progress=False)
        pub.close(prepared.summary)
        last = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (last is None or last.kind != "end"):
            last = sub.receive(timeout_s=0.2) or last
    finally:
        sub.close()
        pub.close()
    return {
        "end": last,
        "per_step": per_step,
        "summary": read_summary(out),
        "table": read_table(out, "timeseries"),
        "errors": pub.stats.errors,
    }


def test_the_last_message_carries_the_summary_violations(live_run):
    end = live_run["end"]
    assert end is not None and end.kind == "end" and live_run["errors"] == 0
    expected = live_run["summary"]["violations"]
    assert end.header["violations"] == expected
    _, last_block = live_run["per_step"][-1]
    assert last_block == expected
    # The default grid overloads a transformer in the uncontrolled baseline's night hours: the
    # comparison is not one of two empty tallies.
    assert expected["baseline"]["trafo_overload_steps"] > 0


def test_each_step_carries_the_tally_of_the_blocks_it_has_reached(live_run):
    """Independent of the tally code: count the recorded baseline transformer maxima over the
    (uniform) 100 % limit, up to the last block boundary a message has reached."""
    table = live_run["table"]
    summary_limits = live_run["summary"]["violations"]["limits"]
    assert summary_limits["trafo_max_loading_pct"] == [100.0, 100.0]
    over = (table["grid_baseline.trafo_loading_max_pct"] > 100.0 + 1e-9).to_numpy()
    worst_pct = table["grid_baseline.trafo_loading_max_pct"].to_numpy()
    per_step = live_run["per_step"]
    assert [k for k, _ in per_step] == list(range(24))
    for k, block in per_step:
        covered = (k + 1) // 8 * 8  # blocks of 8 steps end after steps 7, 15, 23
        if covered == 0:
            assert block is None
            continue
        assert block is not None
        base = block["baseline"]
        assert base["steps"] == block["controlled"]["steps"] == covered
        assert base["trafo_overload_steps"] == int(over[:covered].sum())
        if over[:covered].any():
            assert base["worst"]["trafo"]["excess"] == pytest.approx(
                worst_pct[:covered].max() - 100.0, abs=1e-5
            )
