"""What the dashboard page may open (issue 15, Medium): results folders under the configured
roots only (links followed), telemetry on this machine only unless configured; and a plain
`streamlit run app.py` in the project binds loopback (the project's .streamlit/config.toml)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from twin.dashboard.access import AccessError, allowed_address, allowed_run_dir

ROOT = Path(__file__).resolve().parents[2]


def test_run_folders_only_under_the_results_roots(tmp_path):
    (tmp_path / "results" / "a").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "results" / "link").symlink_to(tmp_path / "elsewhere")
    env: dict[str, str] = {}
    assert allowed_run_dir("results/a", env, tmp_path) == str(tmp_path / "results" / "a")
    assert allowed_run_dir("", env, tmp_path) == ""
    for bad in ("/etc", "/", "results/../elsewhere", "results/link", "elsewhere", "a\x00b"):
        with pytest.raises(AccessError):
            allowed_run_dir(bad, env, tmp_path)
    configured = {"TWIN_RESULTS_ROOT": str(tmp_path / "elsewhere")}
    assert allowed_run_dir("elsewhere", configured, tmp_path) == str(tmp_path / "elsewhere")
    with pytest.raises(AccessError, match="TWIN_RESULTS_ROOT"):
        allowed_run_dir("results/a", configured, tmp_path)
    replay = {"TWIN_REPLAY_DIR": str(tmp_path / "elsewhere")}  # `twin dashboard --replay`
    assert allowed_run_dir(str(tmp_path / "elsewhere"), replay, tmp_path)


def test_live_addresses_only_on_this_machine_unless_configured():
    env: dict[str, str] = {}
    assert allowed_address("5556", env) == "tcp://127.0.0.1:5556"
    assert allowed_address("tcp://localhost:5556", env) == "tcp://localhost:5556"
    assert allowed_address("tcp://*:5556", env) == "tcp://127.0.0.1:5556"
    for bad in ("tcp://10.0.0.5:5556", "tcp://example.org:22", "ipc:///run/x", "inproc://x"):
        with pytest.raises(AccessError):
            allowed_address(bad, env)
    assert allowed_address("tcp://10.0.0.5:5556", {"TWIN_LIVE_HOSTS": "10.0.0.5"})
    assert allowed_address("ipc:///run/x", {"TWIN_LIVE_ADDRESS": "ipc:///run/x"})
    with pytest.raises(AccessError):
        allowed_address("tcp://10.0.0.5:5556", {"TWIN_LIVE_ADDRESS": "tcp://10.0.0.6:5556"})


def _listening_hosts(port: int) -> set[str]:
    """Local addresses of the LISTEN sockets on `port` (from /proc/net/tcp and tcp6)."""
    hosts = set()
    for name in ("tcp", "tcp6"):
        path = Path(f"/proc/net/{name}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                hosts.add(addr)
    return hosts


def test_streamlit_run_app_py_binds_loopback_only():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Exactly the README's command (plus a free port): no --server.address.
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "streamlit exited"
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=2
                ) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "streamlit did not answer within 120 s"
            time.sleep(0.2)  # poll interval of a condition wait
        assert _listening_hosts(port) == {"0100007F"}  # 127.0.0.1, nothing on 0.0.0.0 or ::
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
