"""The page as Streamlit runs it (streamlit.testing AppTest, no browser), and imports that call
no Streamlit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("app", "charts", "formatting", "history", "kpis", "live", "network", "pages")
MODULES += ("replay", "tables", "view")


def test_importing_the_dashboard_calls_no_streamlit():
    """A Streamlit call outside a running app logs a "bare mode" warning on stderr."""
    code = "; ".join(f"import twin.dashboard.{m}" for m in MODULES)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def page(**query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_replay_page_shows_the_last_step_and_kpis(finished_run):
    at = page(mode="replay", run=str(finished_run))
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    assert "step 8 of 8" in text and "KPIs of the run (completed)" in text
    labels = [m.label for m in at.metric]
    assert "Push-up (kWh/EV/day)" in labels
    # slider to the first step: the status line follows
    at.select_slider[0].set_value(0).run()
    assert "step 1 of 8" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"mode": "replay", "run": "/nonexistent/run"}, "Cannot replay this folder"),
        ({"mode": "replay", "run": ""}, "Choose a results folder"),
    ],
)
def test_replay_problems_are_messages(query, message):
    at = page(**query)
    assert not at.exception
    shown = [e.value for e in at.error] + [i.value for i in at.info]
    assert any(message in s for s in shown), shown


def test_live_page_without_a_run_says_so():
    import socket

    with socket.socket() as s:  # a free port nobody publishes on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    at = page(mode="live", address=f"tcp://127.0.0.1:{port}")
    assert not at.exception
    shown = [i.value for i in at.info]
    assert any("No running simulation is publishing" in s and str(port) in s for s in shown), shown
