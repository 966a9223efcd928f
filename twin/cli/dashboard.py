"""`twin dashboard`: start the Streamlit dashboard (app.py) and, unless --replay, run a scenario
live into it - one command instead of `twin run --live` plus `streamlit run app.py`.

The dashboard listens on 127.0.0.1 only. Without --rt-factor or --realtime the run is paced to
take about --wall-time seconds, so there is something to watch; after the run the dashboard
stays up (showing the last step, with a link to replay the results) until Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from twin.cli.options import (
    DEFAULT_LIVE_ADDRESS,
    CaseOpt,
    OutOpt,
    RealtimeOpt,
    RtFactorOpt,
    SeedOpt,
    SetOpt,
    fail,
)
from twin.cli.run import execute_run, load_run_scenario
from twin.config import DEFAULT_SCENARIO
from twin.results import columns as col

APP_PATH = Path(__file__).resolve().parents[2] / "app.py"
STARTUP_TIMEOUT_S = 60.0


class DashboardError(Exception):
    """The dashboard could not be started; the message says what to fix."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """The command line that serves app.py on loopback (headless, no usage statistics)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "false",
    ]


def start_streamlit(port: int, env: dict[str, str]) -> subprocess.Popen:
    """Start the dashboard server and wait (bounded) until it answers its health check.

    Raises:
        DashboardError: Streamlit is not installed, exited, or did not answer in time.
    """
    try:
        import streamlit  # noqa: F401 - only to give a clear message when it is missing
    except ModuleNotFoundError:
        raise DashboardError("streamlit is not installed: pip install streamlit plotly") from None
    import urllib.error
    import urllib.request

    proc = subprocess.Popen(streamlit_command(port), env=env, cwd=Path.cwd())
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DashboardError(
                f"streamlit exited with code {proc.returncode} (is port {port} free?)"
            )
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:
                if answer.status == 200:
                    return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    stop_process(proc)
    raise DashboardError(
        f"streamlit did not answer on port {port} within {STARTUP_TIMEOUT_S:.0f} s"
    )


def stop_process(proc: subprocess.Popen, timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)


def _raise_keyboard_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def dashboard(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario YAML file to run live.")
    ] = DEFAULT_SCENARIO,
    replay: Annotated[
        Path | None, typer.Option(help="Open this results folder instead of running.")
    ] = None,
    port: Annotated[
        int, typer.Option(help="Dashboard port on 127.0.0.1 (0 = any free port).")
    ] = 8501,
    live: Annotated[
        str, typer.Option(help="Telemetry address the run publishes on.")
    ] = DEFAULT_LIVE_ADDRESS,
    out_dir: OutOpt = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    case: CaseOpt = None,
    rt_factor: RtFactorOpt = None,
    realtime: RealtimeOpt = False,
    wall_time: Annotated[
        float,
        typer.Option(
            help="Without --rt-factor/--realtime: pace the run to last about this many seconds "
            "(0 = as fast as possible)."
        ),
    ] = 60.0,
) -> None:
    """Open the live dashboard and run a scenario into it (or --replay a finished run)."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    port = port or free_port()
    env = dict(os.environ)
    if replay is not None:
        if not (replay / col.SUMMARY_FILE).exists():
            fail([f"{replay}: no summary.json - is this a results folder?"])
        env |= {"TWIN_DASHBOARD_MODE": "replay", "TWIN_REPLAY_DIR": str(replay.resolve())}
    else:
        from twin.telemetry import TelemetryError, normalise_address

        try:
            address = normalise_address(live)
        except TelemetryError as err:
            fail([str(err)])
        sc = load_run_scenario(scenario, set_, seed, case)
        if "*" in address:
            fail([f"--live {live}: the dashboard needs a fixed port, e.g. {DEFAULT_LIVE_ADDRESS}"])
        env |= {"TWIN_DASHBOARD_MODE": "live", "TWIN_LIVE_ADDRESS": address}
        if rt_factor is None and not realtime and wall_time > 0:
            rt_factor = wall_time / sc.duration
    try:
        proc = start_streamlit(port, env)
    except DashboardError as err:
        fail([str(err)])
    url = f"http://127.0.0.1:{port}"
    print(f"dashboard: {url}  (streamlit pid {proc.pid}; Ctrl-C to stop)", flush=True)
    try:
        if replay is None:
            execute_run(
                sc, out_dir, realtime=realtime, rt_factor=rt_factor, progress=False, live=address
            )
            print(f"run finished; the dashboard stays at {url} until Ctrl-C", flush=True)
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_process(proc)


def register_cli(app: typer.Typer) -> None:
    """Add `twin dashboard`."""
    app.command("dashboard")(dashboard)
