"""Helpers of the CSMS benchmarks: `twin csms` as a child process, its output and its memory.

The central system runs as the real command (`python -m twin.cli csms`, passwords from a file),
so what is measured is what an operator runs: its printing, its process, its RSS (psutil).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def _limit_files(nofile: int) -> None:
    """In the child before exec: an open-file limit (soft and hard) of `nofile`."""
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CsmsProcess:
    """`twin csms` for `passwords` (identity -> password) on 127.0.0.1:`port`; stdout is
    counted line by line on a thread (lines, bytes, lines matching a kind)."""

    def __init__(
        self,
        passwords: dict[str, str],
        *extra: str,
        port: int | None = None,
        nofile: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self._folder = tempfile.TemporaryDirectory(prefix="bench-csms-")
        password_file = Path(self._folder.name) / "passwords.txt"
        password_file.write_text("".join(f"{i}:{p}\n" for i, p in passwords.items()))
        password_file.chmod(0o600)
        profile = os.environ.get("BENCH_CSMS_PROFILE")  # cProfile output file, for digging
        command = [
            sys.executable,
            *(["-m", "cProfile", "-o", profile] if profile else []),
            "-m",
            "twin.cli",
            "csms",
            "--password-file",
            str(password_file),
            "--port",
            str(self.port),
            "--meter-interval-s",
            "300",
            *extra,
        ]
        self.lines = 0
        self.bytes = 0
        self.stderr_lines: list[str] = []
        self._kinds: dict[str, int] = {}
        self._lock = threading.Lock()
        self._listening = threading.Event()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=None if nofile is None else lambda: _limit_files(nofile),
        )
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if not self._listening.wait(60):
            self.stop()
            raise RuntimeError(f"twin csms did not start: {self.stderr_lines[-5:]}")
        self.ps = psutil.Process(self.process.pid)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        pattern = re.compile(r"^(?:[^:]*: )?(\w+)")
        for line in self.process.stdout:
            with self._lock:
                self.lines += 1
                self.bytes += len(line)
                match = pattern.match(line)
                if match:
                    kind = match.group(1)
                    self._kinds[kind] = self._kinds.get(kind, 0) + 1
            if "listening" in line:
                self._listening.set()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_lines.append(line.rstrip())

    def count(self, kind: str) -> int:
        with self._lock:
            return self._kinds.get(kind, 0)

    def cpu_s(self) -> float:
        """CPU time used by `twin csms` so far (user + system), s."""
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def tracebacks(self) -> int:
        return sum(
            "Traceback" in line
            or "never retrieved" in line
            or "destroyed but it is pending" in line
            for line in self.stderr_lines
        )

    def stop(self, timeout_s: float = 30.0) -> int:
        """Ctrl-C (SIGINT) and wait; returns the exit code."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(2)
        try:
            code = self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(10)
        for thread in self._threads:
            thread.join(5)
        self._folder.cleanup()
        return code


def wait_until(predicate, timeout_s: float, poll_s: float = 0.05) -> float:
    """Seconds until `predicate()` was true; raises TimeoutError after `timeout_s`."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout_s:
            raise TimeoutError(f"condition not reached within {timeout_s} s")
        time.sleep(poll_s)
    return time.perf_counter() - start


class EmbeddedCsms:
    """The same central system in this process (own loop on a thread), printing nothing - the
    comparison for `CsmsProcess` (same interface: url, count, lines, cpu_s, rss_mb, stop)."""

    def __init__(self, passwords: dict[str, str]) -> None:
        import asyncio

        from adapters.ocpp.central_system import CentralSystem
        from adapters.ocpp.config import ChargerAuth, CsmsConfig

        self.lines = self.bytes = 0
        self.stderr_lines: list[str] = []
        self._kinds: dict[str, int] = {}
        config = CsmsConfig(
            port=0,
            chargers={i: ChargerAuth(password=p) for i, p in passwords.items()},
            meter_interval_s=300,
        )
        self.loop = asyncio.new_event_loop()
        self.central = CentralSystem(config, on_event=self._count)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.central.start(), self.loop).result(30)
        self.ps = psutil.Process()

    def _count(self, event: dict) -> None:
        self._kinds[event["kind"]] = self._kinds.get(event["kind"], 0) + 1

    @property
    def url(self) -> str:
        return self.central.url

    def count(self, kind: str) -> int:
        return self._kinds.get(kind, 0)

    def cpu_s(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def tracebacks(self) -> int:
        return 0

    def stop(self, timeout_s: float = 30.0) -> int:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.central.stop(), self.loop).result(timeout_s)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        return 0


@contextlib.contextmanager
def csms_process(passwords: dict[str, str], *extra: str) -> Iterator[CsmsProcess]:
    process = CsmsProcess(passwords, *extra)
    try:
        yield process
    finally:
        process.stop()
