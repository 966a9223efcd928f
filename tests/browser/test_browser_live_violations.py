"""The Grid tab of the live dashboard shows the run's violations tally while it runs (controlled
vs baseline, the same table as replay), says how many steps it covers, and ends on the numbers
summary.json keeps. A real headless Chromium against `twin dashboard`; screenshots go to
test-artifacts/dashboard-live-violations*.png."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_dashboard import (  # noqa: F401 - fixtures are used by name
    assert_no_traceback,
    browser,
    free_port,
    open_tab,
    page,
    shot,
    twin_dashboard,
)
from twin.dashboard.formatting import format_value
from twin.results.readers import read_summary

pytestmark = pytest.mark.browser

STEPS = 24  # 6 h of 15-min steps
COVERAGE = re.compile(rf"so far: the first (\d+) of {STEPS} steps|all {STEPS} steps of the run")


def violations_row(shown, label: str) -> list[str]:
    """The cells of one row of the violations table (text, also while its tab is hidden)."""
    table = shown.locator('[data-testid="stTable"]', has_text="controlled - baseline").first
    row = table.locator("tr", has_text=label).first
    return [c.strip() for c in row.locator("td, th").all_text_contents()]


@pytest.mark.timeout(900)  # generous: the machine may be busy
def test_live_grid_tab_shows_the_violations_tally_so_far(page, tmp_path):  # noqa: F811
    out = tmp_path / "live"
    args = ["--live", f"tcp://127.0.0.1:{free_port()}", "--out", str(out)]
    # Paced (one model step per mosaik step, so the tally moves with every step): ~90 s.
    args += ["--set", "duration=6h", "--rt-factor", "0.004"]
    with twin_dashboard(page, args) as (output, _streamlit):
        page.wait_for_selector("text=sim time", timeout=240_000)
        open_tab(page, "Grid")
        table = page.locator('[data-testid="stTable"]', has_text="controlled - baseline")
        table.first.wait_for(timeout=120_000)
        coverage = page.get_by_text(COVERAGE).first
        coverage.wait_for(timeout=60_000)
        first = COVERAGE.search(coverage.inner_text())
        page.get_by_text("Worst element over its limit, per kind").first.wait_for(timeout=60_000)
        assert first is not None
        shot(page, "dashboard-live-violations", full=True)
        assert_no_traceback(page)
        output.wait_for(r"run finished", 300)
        page.wait_for_selector("text=Run finished (completed)", timeout=30_000)
        open_tab(page, "Grid")  # the finished run's page is drawn anew, on its first tab
        page.get_by_text(f"all {STEPS} steps of the run").first.wait_for(timeout=30_000)
        trafo = violations_row(page, "Transformer overload")
        worst = page.locator('[data-testid="stTable"]', has_text="beyond its limit by").first
        worst_text = worst.text_content() or ""
        shot(page, "dashboard-live-violations-finished", full=True)
        assert_no_traceback(page)
    summary = read_summary(out)
    tally = summary["violations"]
    if first.group(1) is not None:  # seen while running: a part of the run, never beyond it
        assert 1 <= int(first.group(1)) < STEPS
    ctrl = tally["controlled"]["trafo_overload_steps"]
    base = tally["baseline"]["trafo_overload_steps"]
    assert trafo[-3:] == [format_value(ctrl), format_value(base), format_value(ctrl - base)]
    assert base > 0  # the default grid's baseline overloads a transformer at night
    w = tally["baseline"]["worst"]["trafo"]
    assert f"trafo {w['element']} ({w['name']})" in worst_text and w["time"] in worst_text
