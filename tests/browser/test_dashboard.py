"""The dashboard (app.py) in a real headless Chromium (Debian's, driven by Playwright).

Live: `twin dashboard` runs a short, paced scenario into the dashboard it starts; the page must
show the simulated time moving, and the time and fleet power it shows must be the run's recorded
values at that time. Replay: a finished run's KPI card equals summary.json, and the time slider
moves the shown step. Bad input (a folder that is not a run, no simulation running) gives a
message on the page, never a traceback. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from twin.results.readers import read_summary, read_table

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKYO = ZoneInfo("Asia/Tokyo")
FLEETS = ("commuters", "business", "households")
STATUS = re.compile(
    r"sim time (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \(Asia/Tokyo\) · step (\d+) of (\d+) "
    r"· fleet power (-?[\d,]+\.\d) kW"
)

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"process exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"dashboard on port {port} not healthy within {timeout_s} s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Output:
    """Collects a child's stdout lines in a thread (so its pipe never fills)."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            time.sleep(0.1)
        raise AssertionError(
            f"no line matching {pattern!r} within {timeout_s} s; got:\n"
            + "\n".join(self.lines[-30:])
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory) -> Iterator[str]:
    """A plain `streamlit run app.py` on a free loopback port, stopped at the end; the tests'
    run folders (under pytest's temporary folder) are its results root."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, "TWIN_RESULTS_ROOT": str(tmp_path_factory.getbasetemp())},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A short default run (2 h of 15-min steps), written by `twin run`."""
    out = tmp_path_factory.mktemp("replay") / "run"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "twin.cli",
            "run",
            "--out",
            str(out),
            "--set",
            "duration=2h",
            "--no-progress",
        ],
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
    )
    return out


def shot(page, name: str, full: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if full:  # Streamlit scrolls inside its own container: grow the viewport to see it all
        page.set_viewport_size({"width": 1440, "height": 2500})
        # the new size applied and two frames laid out (instead of a fixed 1.5 s)
        page.wait_for_function("() => window.innerHeight === 2500", timeout=60_000)
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
    # a live page redraws every second: on a loaded machine a frame to capture can take long
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), timeout=120_000)
    if full:
        page.set_viewport_size({"width": 1440, "height": 900})


def wait_charts(page) -> None:
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=120_000)


def status_line(page, timeout_s: float = 15.0) -> re.Match:
    """The one-line status (time and power from one snapshot, so they always match).

    Playwright's has_text is case-insensitive, so the "Sim time" metric label matches too, and
    which comes first depends on the render order: look at every candidate, until one parses.
    """
    deadline = time.monotonic() + timeout_s
    texts: list[str] = []
    while True:
        texts = page.locator(
            '[data-testid="stMarkdownContainer"]', has_text="sim time"
        ).all_inner_texts()
        for text in texts:
            if m := STATUS.search(text.replace("\n", " ")):
                return m
        if time.monotonic() > deadline:
            raise AssertionError(f"status line not understood: {texts!r}")
        page.wait_for_timeout(200)


def metric(page, label: str) -> str:
    box = page.locator(
        '[data-testid="stMetric"]',
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label),
    ).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def open_tab(page, name: str) -> None:
    """Click a dashboard tab and wait until it is the selected one."""
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    page.wait_for_function(
        "n => [...document.querySelectorAll('[role=tab]')].some("
        "t => t.innerText.trim() === n && t.getAttribute('aria-selected') === 'true')",
        arg=name,
        timeout=60_000,
    )


def assert_no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.locator("body").inner_text()


def fleet_kw_at(table, local_text: str) -> float:
    stamp = dt.datetime.strptime(local_text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TOKYO)
    times = (
        table["time"].dt.tz_convert("UTC")
        if table["time"].dt.tz is not None
        else table["time"].dt.tz_localize("UTC")
    )
    rows = table[times == stamp.astimezone(dt.UTC)]
    assert len(rows) == 1, f"no recorded step at {local_text}"
    return float(sum(rows.iloc[0][f"{n}.p_kw"] for n in FLEETS))


@contextlib.contextmanager
def twin_dashboard(page, args: list[str]) -> Iterator[tuple[Output, list[int]]]:
    """`twin dashboard ARGS` on a free port, the page opened on it; yields its output and the pid
    of the Streamlit server it started (a one-element list), and stops both at the end."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "twin.cli", "dashboard", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = Output(proc)
    streamlit: list[int] = []
    try:
        streamlit.append(int(output.wait_for(r"streamlit pid (\d+)", 60).group(1)))
        page.goto(f"http://127.0.0.1:{port}/")
        yield output, streamlit
    finally:
        stop(proc)
        if streamlit and pid_alive(streamlit[0]):
            os.kill(streamlit[0], signal.SIGKILL)


@pytest.mark.timeout(900)  # the deadlines below are generous: the machine may be busy
def test_live_dashboard_follows_a_running_scenario(page, tmp_path):
    """`twin dashboard` runs 6 h of 1-min steps paced to ~1 min into the dashboard it started.

    Paced long enough, and waited on with deadlines generous enough, that a busy machine (the
    page's first render took over 60 s at a load of 9 on 2 cores) still sees the run going."""
    out = tmp_path / "live"
    args = [
        "--live",
        f"tcp://127.0.0.1:{free_port()}",
        "--out",
        str(out),
        "--set",
        "step=1min",
        "--set",
        "duration=6h",
        "--rt-factor",
        "0.003",
    ]
    with twin_dashboard(page, args) as (output, streamlit):
        page.wait_for_selector("text=sim time", timeout=240_000)
        first = status_line(page)
        first_metric = metric(page, "Sim time")
        # Wait for the page to move on (instead of a fixed 3 s): status line and metric both.
        deadline = time.monotonic() + 60
        second = status_line(page)
        while not (second.group(1) > first.group(1) and metric(page, "Sim time") != first_metric):
            assert time.monotonic() < deadline, "simulated time did not move within 60 s"
            page.wait_for_timeout(200)  # poll interval of the condition
            second = status_line(page)
        wait_charts(page)
        shot(page, "dashboard-live")
        shot(page, "dashboard-live-full", full=True)
        assert_no_traceback(page)
        assert second.group(1) > first.group(1), "simulated time did not move between two reads"
        assert metric(page, "Sim time") != first_metric
        assert int(second.group(3)) == 360
        # the run goes on to the end; then the page says so and the results are on disk
        output.wait_for(r"run finished", 300)
        page.wait_for_selector("text=Run finished (completed)", timeout=15_000)
        shot(page, "dashboard-live-finished")
    assert streamlit and not pid_alive(streamlit[0]), (
        "twin dashboard left its streamlit server running"
    )
    table = read_table(out, "timeseries")
    assert len(table) == 360
    for snap in (first, second):
        shown_kw = float(snap.group(4).replace(",", ""))
        assert shown_kw == pytest.approx(fleet_kw_at(table, snap.group(1)), abs=0.051)


def test_replay_shows_the_finished_runs_kpis_and_moves_in_time(page, dashboard_url, finished_run):
    summary = read_summary(finished_run)
    table = read_table(finished_run, "timeseries")
    page.goto(f"{dashboard_url}/?mode=replay&run={finished_run}")
    page.wait_for_selector("text=KPIs of the run (completed)", timeout=60_000)
    shown = float(metric(page, "Push-up (kWh/EV/day)").replace(",", ""))
    expected = summary["kpis"]["push_up_kwh_per_ev_day"]
    assert shown == pytest.approx(expected, rel=5e-4, abs=5e-4)  # 4 significant digits shown
    shown_down = float(metric(page, "Push-down (kWh/EV/day)").replace(",", ""))
    assert shown_down == pytest.approx(
        summary["kpis"]["push_down_kwh_per_ev_day"], rel=5e-4, abs=5e-4
    )
    last = status_line(page)
    assert last.group(1) == "2025-06-04 01:45:00" and last.group(2) == "8"
    # slider to the first step: the page shows step 1 and its recorded power
    page.locator('[data-testid="stSlider"] input[type="range"]').first.focus()
    page.keyboard.press("Home")
    page.wait_for_selector("text=step 1 of 8", timeout=15_000)
    first = status_line(page)
    assert first.group(1) == "2025-06-04 00:00:00"
    assert float(first.group(4).replace(",", "")) == pytest.approx(
        fleet_kw_at(table, first.group(1)), abs=0.051
    )
    wait_charts(page)
    open_tab(page, "Grid")
    page.wait_for_selector("text=Worst elements now")
    # the grid drawing is built in the background on first use: wait until it is drawn
    page.locator("svg text.xtitle", has_text="longitude").wait_for(timeout=60_000)
    shot(page, "dashboard-replay")
    shot(page, "dashboard-replay-full", full=True)
    assert_no_traceback(page)


def test_bad_replay_folder_gives_a_clear_message(page, dashboard_url, tmp_path):
    page.goto(f"{dashboard_url}/?mode=replay&run={tmp_path}")
    alert = page.wait_for_selector('[data-testid="stAlert"]', timeout=30_000)
    assert "Cannot replay this folder" in alert.inner_text()
    assert "no summary.json" in alert.inner_text()
    assert_no_traceback(page)
    shot(page, "dashboard-bad-replay")
    # a summary but no time series (a run killed before its first step was written)
    shutil.copy(ROOT / "scenarios" / "default.yaml", tmp_path / "scenario.yaml")
    (tmp_path / "summary.json").write_text('{"scenario": "default", "status": "running"}')
    page.goto(f"{dashboard_url}/?mode=replay&run={tmp_path}")
    page.wait_for_selector("text=no timeseries.parquet", timeout=30_000)
    assert_no_traceback(page)


def test_no_running_simulation_gives_a_clear_message(page, dashboard_url):
    silent = free_port()
    page.goto(f"{dashboard_url}/?mode=live&address=tcp://127.0.0.1:{silent}")
    alert = page.wait_for_selector("text=No running simulation is publishing", timeout=30_000)
    assert f"tcp://127.0.0.1:{silent}" in alert.inner_text()
    assert_no_traceback(page)
    shot(page, "dashboard-no-simulation")


@pytest.mark.timeout(900)  # the deadlines below are generous: the machine may be busy
def test_live_hil_panel_lists_the_physical_chargers(page, tmp_path):
    """`twin dashboard scenarios/hil_lab.yaml`: real CSMS, two OCPP emulators and a Modbus emulator
    on 127.0.0.1; the HIL panel must list each charger with its link state while the run goes."""
    from tests.integration.test_hil_lab import Lab

    csms_port, modbus_port = free_port(), free_port()
    lab = Lab(csms_port)
    lab.start(modbus_port)
    args = [
        str(ROOT / "scenarios" / "hil_lab.yaml"),
        "--live",
        f"tcp://127.0.0.1:{free_port()}",
        "--out",
        str(tmp_path / "hil"),
        "--set",
        f"hil.csms_port={csms_port}",
        "--set",
        f"hardware.2.port={modbus_port}",
        "--rt-factor",
        "0.0004",
    ]  # 0.36 s per 15-min step
    try:
        with twin_dashboard(page, args) as (output, _):
            page.wait_for_selector('[role="tab"]', timeout=240_000)
            open_tab(page, "Hardware")
            page.wait_for_selector("text=Hardware in the loop", timeout=240_000)
            # All three chargers are listed and come online (OCPP ones dial in, Modbus is polled).
            for cid in ("CP001", "CP002", f"127.0.0.1:{modbus_port}"):
                page.wait_for_selector(f"td:has-text('{cid}')", timeout=240_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('td')].filter(td => td.innerText.trim() === 'online').length >= 3",
                # poll on a timer: the default (each animation frame) can starve while the live
                # page redraws every second on a loaded machine, and the run may end meanwhile
                polling=250,
                timeout=240_000,
            )
            shot(page, "dashboard-live-hil", full=True)
            assert_no_traceback(page)
            output.wait_for(r"run finished", 120)
    finally:
        lab.stop()
    summary = read_summary(tmp_path / "hil")
    assert summary["status"] == "completed" and len(summary["hil"]["chargers"]) == 3
