"""The page as Streamlit runs it (streamlit.testing AppTest, no browser), and imports that call
no Streamlit."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
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


@pytest.fixture(autouse=True)
def results_root(tmp_path_factory, monkeypatch) -> Path:
    """The tests' run folders live under pytest's temporary folder: the page may open those."""
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("TWIN_RESULTS_ROOT", str(root))
    monkeypatch.delenv("TWIN_REPLAY_DIR", raising=False)
    monkeypatch.delenv("TWIN_LIVE_ADDRESS", raising=False)
    monkeypatch.delenv("TWIN_LIVE_HOSTS", raising=False)
    return root


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
    downloads = at.get("download_button")
    assert len(downloads) == 1 and "timeseries (CSV)" in downloads[0].proto.label
    from twin.dashboard.pages import _csv
    from twin.dashboard.replay import load_run

    run = load_run(finished_run)
    csv = pd.read_csv(io.BytesIO(_csv(str(finished_run), 0.0, run)))
    assert list(csv.columns) == list(run.table.columns) and len(csv) == len(run.table) == 8
    # slider to the first step: the status line follows
    at.select_slider[0].set_value(0).run()
    assert "step 1 of 8" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"mode": "replay", "run": "{root}/nonexistent/run"}, "Cannot replay this folder"),
        ({"mode": "replay", "run": ""}, "Choose a results folder"),
    ],
)
def test_replay_problems_are_messages(query, message, results_root):
    at = page(**{k: v.replace("{root}", str(results_root)) for k, v in query.items()})
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


@pytest.mark.parametrize(
    "query",
    [
        {"mode": "replay", "run": "/etc"},
        {"mode": "replay", "run": "/"},
        {"mode": "replay", "run": "{root}/../.."},
        {"mode": "live", "address": "tcp://10.11.12.13:5556"},
        {"mode": "live", "address": "tcp://example.org:22"},
        {"mode": "live", "address": "ipc:///tmp/some.sock"},
    ],
)
def test_the_url_cannot_open_other_folders_or_hosts(query, results_root, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr("twin.dashboard.pages.cached_run", lambda *a: opened.append(a[0]))
    monkeypatch.setattr("twin.dashboard.pages.live_feed", lambda a: opened.append(a))
    at = page(**{k: v.replace("{root}", str(results_root)) for k, v in query.items()})
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("Not allowed:") for e in errors), errors
    assert not opened  # nothing was read, no socket was opened
