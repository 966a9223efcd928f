"""`twin csms` as the real command: passwords from a file, refusals, Ctrl-C without noise."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ocpp_lab import PASSWORD
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[3]


def _start(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "twin.cli", "csms", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def _wait_for_line(process: subprocess.Popen, needle: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if needle in line:
            return line
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"{needle!r} not printed within {timeout_s} s")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ctrl_c_with_chargers_connected_exits_cleanly(tmp_path):
    # Before: "Task was destroyed but it is pending!" (x3) on Ctrl-C, and storms left
    # "Task exception was never retrieved" tracebacks.
    passwords = tmp_path / "pw.txt"
    passwords.write_text(f"CP1:{PASSWORD}\nCP2:{PASSWORD}\n")
    port = _free_port()
    process = _start(["--password-file", str(passwords), "--port", str(port)])
    try:
        _wait_for_line(process, "listening")
        sockets = []
        for identity in ("CP1", "CP2"):
            token = base64.b64encode(f"{identity}:{PASSWORD}".encode()).decode()
            ws = connect(
                f"ws://127.0.0.1:{port}/ocpp/{identity}",
                subprotocols=["ocpp1.6"],
                additional_headers={"Authorization": f"Basic {token}"},
                proxy=None,
                open_timeout=30,
            )
            boot = {"chargePointVendor": "V", "chargePointModel": "M"}
            ws.send(json.dumps([2, "b", "BootNotification", boot]))  # metering calls follow
            sockets.append(ws)
        _wait_for_line(process, "CP2: boot V M")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    for noise in ("Traceback", "never retrieved", "destroyed but it is pending", "Error"):
        assert noise not in stderr, stderr
    assert "status: 0 of 2 chargers connected" in stdout


def test_charger_without_password_is_refused_unless_opted_out():
    result = subprocess.run(
        [sys.executable, "-m", "twin.cli", "csms", "--charger", "CP1", "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no password - anyone who knows the identity could take the charger over" in (
        result.stdout + result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("how", ["flag-on-cli", "environment"])
def test_opt_out_and_password_sources_are_announced(how):
    port = _free_port()
    if how == "flag-on-cli":
        process = _start(["--charger", "CP1:on-the-cli", "--port", str(port)])
    else:
        process = _start(
            ["--charger", "CP2", "--allow-no-password", "--port", str(port)],
            env={"TWIN_CSMS_PASSWORDS": "CP1:from-the-env"},
        )
    try:
        _wait_for_line(process, "listening")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    if how == "flag-on-cli":
        assert "visible to every user in `ps`" in stderr
    else:
        assert "WARNING: INSECURE: 1 charger(s) accept any client" in stderr


def test_idle_connections_at_the_file_limit_neither_lock_out_nor_spam(tmp_path):
    # Before: 1,100 idle connections at the 1,024-file limit kept a charger out for ~6 s and
    # wrote 8,416 EMFILE tracebacks. Here: a 256-file limit and 400 idle sockets from another
    # loopback address; the charger (127.0.0.1) gets in at once and stderr stays clean.
    import resource
    import socket

    passwords = tmp_path / "pw.txt"
    passwords.write_text(f"CP1:{PASSWORD}\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "twin.cli", "csms", "--password-file", str(passwords)]
        + ["--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)),
    )
    idle: list[socket.socket] = []
    try:
        _wait_for_line(process, "listening")
        for _ in range(400):
            sock = socket.socket()
            sock.bind(("127.0.0.2", 0))
            try:
                sock.connect(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            idle.append(sock)
        token = base64.b64encode(f"CP1:{PASSWORD}".encode()).decode()
        started = time.monotonic()
        with connect(
            f"ws://127.0.0.1:{port}/ocpp/CP1",
            subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": f"Basic {token}"},
            proxy=None,
            open_timeout=30,
        ) as ws:
            ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
            while json.loads(ws.recv(timeout=30))[:2] != [3, "hb"]:
                pass
        assert time.monotonic() - started < 5
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        for sock in idle:
            sock.close()
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "Too many open files" not in stderr and "Traceback" not in stderr, stderr[-2000:]
