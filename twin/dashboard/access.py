"""What the dashboard page may open: results folders under the configured roots, telemetry
addresses on this machine. The page's URL parameters and text boxes are anyone's input (any
visitor of the page can set `?run=/etc` or `?address=tcp://10.0.0.5:22`), so they are checked
here before the page reads a folder or opens a socket. Pure (no Streamlit).

Configuration (environment of the Streamlit server):
- `TWIN_RESULTS_ROOT`: folders (separated by `os.pathsep`) whose run folders may be replayed;
  default `<working directory>/results`. `TWIN_REPLAY_DIR` (set by `twin dashboard --replay`)
  is allowed too.
- `TWIN_LIVE_HOSTS`: comma-separated hosts a live address may name besides 127.0.0.1,
  localhost and ::1; the host of `TWIN_LIVE_ADDRESS` (set by `twin dashboard`) is allowed too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from twin.telemetry.address import normalise_address
from twin.telemetry.errors import TelemetryError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class AccessError(Exception):
    """The page may not open this folder or address; the message says why and how to allow it."""


def results_roots(env: Mapping[str, str], cwd: Path) -> list[Path]:
    """The folders whose run folders the page may open (resolved)."""
    configured = [p for p in env.get("TWIN_RESULTS_ROOT", "").split(os.pathsep) if p.strip()]
    roots = [Path(p).expanduser() for p in configured] or [cwd / "results"]
    if env.get("TWIN_REPLAY_DIR"):
        roots.append(Path(env["TWIN_REPLAY_DIR"]))
    return [(cwd / r).resolve() for r in roots]


def allowed_run_dir(run_dir: str, env: Mapping[str, str], cwd: Path) -> str:
    """`run_dir` resolved (links followed) if it is inside a results root, "" for "".

    Raises:
        AccessError: outside every root (or not a usable path).
    """
    text = run_dir.strip()
    if not text:
        return ""
    roots = results_roots(env, cwd)
    try:
        if "\x00" in text:
            raise ValueError("NUL in path")
        path = (cwd / Path(text).expanduser()).resolve()
    except (OSError, RuntimeError, ValueError):
        raise AccessError(f"'{text[:200]}' is not a usable folder path") from None
    if any(path == root or root in path.parents for root in roots):
        return str(path)
    raise AccessError(
        f"'{text[:200]}' is outside the results folders this dashboard may open "
        f"({', '.join(map(str, roots))}); set TWIN_RESULTS_ROOT on the server to open others"
    )


def _host(endpoint: str) -> str:
    rest = endpoint[len("tcp://") :] if endpoint.startswith("tcp://") else endpoint
    return rest.rpartition(":")[0].lower()


def allowed_address(address: str, env: Mapping[str, str]) -> str:
    """`address` as a ZeroMQ endpoint to connect to, if its host is this machine or configured.

    Raises:
        AccessError: another host, or an ipc/inproc endpoint the server was not started with.
    """
    try:
        endpoint = normalise_address(address, connect=True)
    except TelemetryError as err:
        raise AccessError(str(err)) from None
    configured = env.get("TWIN_LIVE_ADDRESS", "")
    try:
        configured_endpoint = normalise_address(configured, connect=True) if configured else ""
    except TelemetryError:
        configured_endpoint = ""
    if endpoint == configured_endpoint:
        return endpoint
    if not endpoint.startswith("tcp://"):
        raise AccessError(
            f"'{address[:200]}': only tcp:// addresses on this machine can be followed"
        )
    extra = {h.strip().lower() for h in env.get("TWIN_LIVE_HOSTS", "").split(",") if h.strip()}
    if configured_endpoint.startswith("tcp://"):
        extra.add(_host(configured_endpoint))
    if _host(endpoint) in LOOPBACK_HOSTS | extra:
        return endpoint
    raise AccessError(
        f"'{address[:200]}': the dashboard follows telemetry on this machine only "
        "(127.0.0.1/localhost); set TWIN_LIVE_HOSTS on the server to allow other hosts"
    )
