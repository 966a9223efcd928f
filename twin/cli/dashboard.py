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
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from twin.catalog import load_scenario
from twin.config import DEFAULT_SCENARIO, ScenarioError
from twin.telemetry.publisher import DEFAULT_ADDRESS, TelemetryError, normalise_address

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


def _fail(lines: list[str], code: int = 2) -> None:
    # one plain line per problem on stderr, like `twin run`
    for line in lines:
        print(line, file=sys.stderr)
    raise typer.Exit(code)


def register_cli(app: typer.Typer) -> None:
    """Add `twin dashboard` to the `twin` command."""

    @app.command()
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
        ] = DEFAULT_ADDRESS,
        out_dir: Annotated[
            Path | None, typer.Option("--out", help="Results folder (default results/<name>).")
        ] = None,
        set_: Annotated[
            list[str] | None,
            typer.Option("--set", help="Override a scenario field (as in twin run)."),
        ] = None,
        rt_factor: Annotated[
            float | None, typer.Option(help="Wall seconds per simulated second.")
        ] = None,
        realtime: Annotated[
            bool, typer.Option("--realtime", help="Pace the run by the wall clock (HIL).")
        ] = False,
        wall_time: Annotated[
            float,
            typer.Option(
                help="Without --rt-factor/--realtime: pace the run to last about this many seconds "
                "(0 = as fast as possible)."
            ),
        ] = 60.0,
    ) -> None:
        """Open the live dashboard and run a scenario into it (or --replay a finished run)."""
        from twin import cli

        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        port = port or free_port()
        env = dict(os.environ)
        if replay is not None:
            if not (replay / "summary.json").exists():
                _fail([f"{replay}: no summary.json - is this a results folder?"])
            env |= {"TWIN_DASHBOARD_MODE": "replay", "TWIN_REPLAY_DIR": str(replay.resolve())}
        else:
            try:
                address = normalise_address(live)
                sc = load_scenario(scenario, cli_overrides(set_))
            except (TelemetryError, ScenarioError, DashboardError) as err:
                _fail(err.lines() if isinstance(err, ScenarioError) else [str(err)])
            if "*" in address:
                _fail([f"--live {live}: the dashboard needs a fixed port, e.g. {DEFAULT_ADDRESS}"])
            env |= {"TWIN_DASHBOARD_MODE": "live", "TWIN_LIVE_ADDRESS": address}
            if rt_factor is None and not realtime and wall_time > 0:
                rt_factor = wall_time / sc.duration
        try:
            proc = start_streamlit(port, env)
        except DashboardError as err:
            _fail([str(err)])
        url = f"http://127.0.0.1:{port}"
        print(f"dashboard: {url}  (streamlit pid {proc.pid}; Ctrl-C to stop)", flush=True)
        try:
            if replay is None:
                try:
                    cli.run(
                        scenario=scenario,
                        out_dir=out_dir,
                        seed=None,
                        set_=set_,
                        realtime=realtime,
                        rt_factor=rt_factor,
                        progress=False,
                        live=address,
                    )
                except TelemetryError as err:
                    _fail([str(err)])
                print(f"run finished; the dashboard stays at {url} until Ctrl-C", flush=True)
            proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop_process(proc)


def cli_overrides(items: list[str] | None) -> dict[str, Any]:
    """`--set a.b=value` pairs as load_scenario overrides (values parsed as YAML, like twin run)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise DashboardError(f"--set {item}: use FIELD.PATH=VALUE, e.g. fleets.home.count=1000")
        out[key.strip()] = yaml.safe_load(raw)
    return out
