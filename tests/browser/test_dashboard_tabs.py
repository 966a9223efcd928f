"""Each tab of the replay dashboard in a real headless Chromium: it opens, shows what it is for,
and its numbers are the results files' (violations against summary.json). One Streamlit server
and one short run for the whole module; screenshots go to test-artifacts/dashboard-tab-*.png."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard import (  # noqa: F401 - fixtures are used by name
    assert_no_traceback,
    browser,
    dashboard_url,
    finished_run,
    open_tab,
    page,
    shot,
    wait_charts,
)
from twin.results.readers import read_summary

pytestmark = pytest.mark.browser


@pytest.fixture
def replay(page, dashboard_url, finished_run):  # noqa: F811 - the imported fixtures
    page.goto(f"{dashboard_url}/?mode=replay&run={finished_run}")
    page.wait_for_selector('[role="tab"]', timeout=120_000)
    return page


def test_overview_tab_shows_the_kpis_and_fleet_power(replay):
    open_tab(replay, "Overview")
    replay.wait_for_selector("text=KPIs of the run (completed)", timeout=60_000)
    replay.wait_for_selector("text=Fleet power vs EMS target and baseline", timeout=60_000)
    wait_charts(replay)
    shot(replay, "dashboard-tab-overview")
    assert_no_traceback(replay)


def test_grid_tab_shows_violations_voltage_band_and_the_feeder(replay, finished_run):  # noqa: F811
    open_tab(replay, "Grid")
    replay.wait_for_selector("text=Bus voltage band", timeout=60_000)
    replay.wait_for_selector("text=Highest bus voltages", timeout=60_000)
    violations = read_summary(finished_run).get("violations")
    if violations:
        table = replay.locator('[data-testid="stTable"]', has_text="controlled - baseline")
        table.first.wait_for(timeout=60_000)
    else:
        replay.wait_for_selector("text=no violations tally in this run", timeout=60_000)
    replay.locator("svg text.xtitle", has_text="longitude").wait_for(timeout=120_000)
    shot(replay, "dashboard-tab-grid", full=True)
    assert_no_traceback(replay)


def test_fleets_tab_shows_soc_per_fleet(replay):
    open_tab(replay, "Fleets")
    replay.wait_for_selector("text=SOC per fleet", timeout=60_000)
    # the other tabs' charts are in the page too, hidden: wait for one that shows
    replay.locator('[data-testid="stPlotlyChart"] .main-svg >> visible=true').first.wait_for(
        timeout=120_000
    )
    shot(replay, "dashboard-tab-fleets")
    assert_no_traceback(replay)


def test_services_tab_shows_ems_contributions(replay):
    open_tab(replay, "Services")
    replay.wait_for_selector("text=EMS service contributions", timeout=60_000)
    replay.wait_for_selector("text=Frequency and the fleet's response", timeout=60_000)
    shot(replay, "dashboard-tab-services")
    assert_no_traceback(replay)


def test_hardware_tab_says_when_a_run_has_no_chargers(replay):
    open_tab(replay, "Hardware")
    replay.wait_for_selector("text=no hardware chargers in this run", timeout=60_000)
    shot(replay, "dashboard-tab-hardware")
    assert_no_traceback(replay)
