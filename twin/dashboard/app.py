"""The dashboard page: sidebar (mode, address or folder) and the live or replay page.

Defaults come from the URL (`?mode=replay&run=results/default`,
`?mode=live&address=tcp://127.0.0.1:5556`), else from the environment (TWIN_DASHBOARD_MODE,
TWIN_LIVE_ADDRESS, TWIN_REPLAY_DIR); what they may name is confined (twin/dashboard/access.py:
results folders under TWIN_RESULTS_ROOT, telemetry on this machine). Every problem the user can fix is a message on the page;
anything unexpected is one st.error line, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from twin.dashboard.access import AccessError, allowed_address, allowed_run_dir
from twin.dashboard.pages import live_page, replay_page
from twin.dashboard.replay import known_runs
from twin.telemetry import DEFAULT_ADDRESS

PAGE_CSS = """<style>
[data-testid="stMetricValue"] { font-size: 1.55rem; }
[data-testid="stMetricLabel"] p { font-size: 0.85rem; }
.block-container { padding-top: 2.2rem; }
</style>"""
MODES = ("Live", "Replay")


def setting(
    query: Mapping[str, str], env: Mapping[str, str], name: str, variable: str, fallback: str
) -> str:
    """A URL parameter if set, else an environment variable, else the fallback."""
    return query.get(name) or env.get(variable) or fallback


def default_mode(query: Mapping[str, str], env: Mapping[str, str]) -> str:
    """ "Replay" when asked for, or when a replay folder is set and no mode is; else "Live"."""
    fallback = "replay" if env.get("TWIN_REPLAY_DIR") else "live"
    chosen = setting(query, env, "mode", "TWIN_DASHBOARD_MODE", fallback)
    return "Replay" if chosen.lower() == "replay" else "Live"


def main() -> None:
    st.set_page_config(page_title="EV fleet twin", page_icon=":zap:", layout="wide")
    st.markdown(PAGE_CSS, unsafe_allow_html=True)
    st.subheader("EV fleet twin dashboard")
    query = {k: st.query_params.get(k, "") for k in ("mode", "address", "run")}
    env = os.environ
    with st.sidebar:
        mode = st.radio(
            "Mode",
            MODES,
            index=MODES.index(default_mode(query, env)),
            help="Live: follow a run started with --live. Replay: open a results folder.",
        )
        if mode == "Live":
            address = st.text_input(
                "Telemetry address",
                setting(query, env, "address", "TWIN_LIVE_ADDRESS", DEFAULT_ADDRESS),
            )
        else:
            runs = known_runs(Path.cwd())
            run_dir = st.text_input(
                "Results folder",
                setting(query, env, "run", "TWIN_REPLAY_DIR", runs[0] if runs else ""),
            )
            if runs:
                st.caption("Runs in results/: " + ", ".join(runs))
    try:
        # Only loopback addresses and folders under the results roots (twin.dashboard.access):
        # the URL's parameters are any visitor's input.
        if mode == "Live":
            live_page(allowed_address(address, env))
        else:
            replay_page(allowed_run_dir(run_dir, env, Path.cwd()))
    except AccessError as err:
        st.error(f"Not allowed: {err}")
    except Exception as err:  # noqa: BLE001 - a page shows a message, never a traceback
        st.error(f"The dashboard hit a problem: {type(err).__name__}: {err}")
