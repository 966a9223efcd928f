"""`twin csms` under attack: does a good charger stay answered, does memory stay bounded?

    python -m benchmarks.bench_csms_attacks [--scale 1.0] [--only NAME ...]

For each attack a fresh `twin csms` runs as the real command (child process, passwords from a
file). A good charger (127.0.0.1) is connected and sends a Heartbeat every 50 ms; its round
trip is measured before, during and after the attack, and the server's RSS is sampled (psutil).
The attacker runs in its own process from 127.0.0.2 (another loopback address: another IP for
the per-IP limits). After each attack a second good charger must get in (time to connect).

Attacks (issue 15): unsolicited CALLRESULTs (2,500 x 60 KiB), oversized frames (250 KB),
CALL flood from one charger, idle connections (1,100), refused handshakes (wrong passwords and
unknown identities), malformed frames, a BootNotification loop.
Not a test: numbers depend on the machine (and its load: printed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import sys
import time
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from benchmarks.csms_process import CsmsProcess

PASSWORD = "attack-bench-password-0123"
ATTACKER_IP = "127.0.0.2"
IDS = {"GOOD": PASSWORD, "GOOD2": PASSWORD, "EVIL": PASSWORD}


async def _client(url: str, identity: str, password: str | None, **kwargs: Any) -> ClientConnection:
    headers = {}
    if password is not None:
        token = base64.b64encode(f"{identity}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return await connect(
        f"{url}/{identity}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=headers,
        proxy=None,
        open_timeout=20,
        max_size=None,
        **kwargs,
    )


# -- attacks (run in the attacker process) -----------------------------------------------------


PROGRESS = {"sent": 0, "errors": 0}
"""What the attacker did so far (reported also when the attack is cut or closed)."""


async def _attack(name: str, url: str, port: int, scale: float) -> dict:
    local = {"local_addr": (ATTACKER_IP, 0)}
    progress = PROGRESS
    if name == "unsolicited_results":
        ws = await _client(url, "EVIL", PASSWORD, **local)
        blob = "x" * 60_000
        for index in range(int(2500 * scale)):
            await ws.send(json.dumps([3, f"never-{index}", {"d": blob}]))
            progress["sent"] += 1
        await ws.close()
    elif name == "oversized_frames":
        blob = "x" * 250_000
        for index in range(int(100 * scale)):
            try:
                ws = await _client(url, "EVIL", PASSWORD, **local)
                await ws.send(json.dumps([3, f"big-{index}", {"d": blob}]))
                await asyncio.wait_for(ws.recv(), 10)
            except (ConnectionClosed, TimeoutError, InvalidStatus, OSError):
                progress["errors"] += 1
            progress["sent"] += 1
    elif name == "call_flood":
        ws = await _client(url, "EVIL", PASSWORD, **local)
        frame = json.dumps([2, "f", "DataTransfer", {"vendorId": "v", "data": "x" * 2000}])
        deadline = time.monotonic() + 10 * scale
        while time.monotonic() < deadline:
            await ws.send(frame)
            progress["sent"] += 1
        await ws.close()
    elif name == "idle_connections":
        held = []
        for _ in range(int(1100 * scale)):
            try:
                held.append(
                    await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER_IP, 0))
                )
                progress["sent"] += 1
            except OSError:
                progress["errors"] += 1
        await asyncio.sleep(8 * scale)  # hold them
        for _reader, writer in held:
            writer.close()
    elif name == "refused_handshakes":
        for index in range(int(2000 * scale)):
            identity, password = ("EVIL", "guess") if index % 2 else (f"NOBODY{index}", "x")
            try:
                ws = await _client(url, identity, password, **local)
                await ws.close()
            except InvalidStatus:
                progress["errors"] += 1
            except OSError:
                progress["errors"] += 1
            progress["sent"] += 1
    elif name == "malformed_frames":
        ws = await _client(url, "EVIL", PASSWORD, **local)
        for index in range(int(5000 * scale)):
            await ws.send("{not json " + "\x1b[31m" * (index % 3) + str(index))
            progress["sent"] += 1
        await ws.close()
    elif name == "boot_loop":
        ws = await _client(url, "EVIL", PASSWORD, **local)
        boot = {"chargePointVendor": "V", "chargePointModel": "M"}
        for index in range(int(1000 * scale)):
            await ws.send(json.dumps([2, f"b{index}", "BootNotification", boot]))
            progress["sent"] += 1
        await ws.close()
    else:
        raise ValueError(name)
    return dict(progress)


def _attacker(name: str, url: str, port: int, scale: float, conn: Any) -> None:
    started = time.perf_counter()
    try:
        result = asyncio.run(asyncio.wait_for(_attack(name, url, port, scale), 30 + 30 * scale))
    except TimeoutError:
        result = {**PROGRESS, "failure": "(cut at its time limit: throttled by the server)"}
    except (ConnectionClosed, OSError) as exc:
        result = {**PROGRESS, "failure": f"(the server closed the attacker: {exc!r})"}
    except Exception as exc:  # noqa: BLE001 - reported (websockets' client raises odd errors
        # when the server drops it in the middle of a blocked send)
        result = {**PROGRESS, "failure": f"(attacker stopped: {exc!r})"}
    result["seconds"] = time.perf_counter() - started
    conn.send(result)


ATTACKS = [
    "unsolicited_results",
    "oversized_frames",
    "call_flood",
    "idle_connections",
    "refused_handshakes",
    "malformed_frames",
    "boot_loop",
]


# -- the good charger and the measurement (this process) ---------------------------------------


async def _heartbeats(ws: ClientConnection, stop: asyncio.Event, rtts: list[tuple[float, float]]):
    index = 0
    while not stop.is_set():
        index += 1
        uid = f"hb{index}"
        started = time.perf_counter()
        await ws.send(json.dumps([2, uid, "Heartbeat", {}]))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message[0] == 2:  # the CSMS's own calls (metering set-up): accept them
                await ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))
            elif message[1] == uid:
                break
        rtts.append((time.perf_counter(), time.perf_counter() - started))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


def _stats(rtts: list[tuple[float, float]], start: float, end: float) -> dict:
    ms = np.array([rtt for at, rtt in rtts if start <= at <= end]) * 1000.0
    if ms.size == 0:
        return {"n": 0}
    return {
        "n": int(ms.size),
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
    }


async def run_attack(name: str, scale: float, nofile: int | None = None) -> dict:
    csms = CsmsProcess(IDS, nofile=nofile)
    rss: list[tuple[float, float]] = []
    rtts: list[tuple[float, float]] = []
    stop = asyncio.Event()
    try:
        good = await _client(csms.url, "GOOD", PASSWORD)
        boot = {"chargePointVendor": "Good", "chargePointModel": "One"}
        await good.send(json.dumps([2, "boot", "BootNotification", boot]))
        beats = asyncio.ensure_future(_heartbeats(good, stop, rtts))

        async def sample() -> None:
            while not stop.is_set():
                rss.append((time.perf_counter(), csms.rss_mb()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.1)

        sampler = asyncio.ensure_future(sample())
        await asyncio.sleep(2.0)  # before
        t_attack = time.perf_counter()
        ctx = mp.get_context("spawn")
        parent, child_end = ctx.Pipe()
        attacker = ctx.Process(target=_attacker, args=(name, csms.url, csms.port, scale, child_end))
        attacker.start()
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(
            None, lambda: parent.recv() if parent.poll(600) else {}
        )
        attacker.join(30)
        t_done = time.perf_counter()
        # A second good charger must get in right after (or during the tail of) the attack.
        started = time.perf_counter()
        try:
            second = await _client(csms.url, "GOOD2", PASSWORD)
            connect_s: float | None = time.perf_counter() - started
            await second.close()
        except (InvalidStatus, OSError, TimeoutError):
            connect_s = None
        await asyncio.sleep(3.0)  # after
        stop.set()
        await asyncio.gather(beats, sampler, return_exceptions=True)
        await good.close()
        t_end = time.perf_counter()
    finally:
        code = csms.stop()

    def rss_in(a: float, b: float) -> float:
        values = [v for at, v in rss if a <= at <= b]
        return max(values) if values else float("nan")

    return {
        "attack": name,
        "outcome": outcome,
        "before": _stats(rtts, 0, t_attack),
        "during": _stats(rtts, t_attack, t_done),
        "after": _stats(rtts, t_done, t_end),
        "rss_before": rss_in(0, t_attack),
        "rss_during": rss_in(t_attack, t_done),
        "rss_after": [v for _, v in rss][-1] if rss else float("nan"),
        "second_connect_s": connect_s,
        "tracebacks": csms.tracebacks(),
        "lines": csms.lines,
        "exit_code": code,
    }


def _fmt(stats: dict) -> str:
    if not stats.get("n"):
        return "no heartbeat answered"
    return f"p50 {stats['p50']:6.1f}  p99 {stats['p99']:6.1f}  max {stats['max']:6.1f} ms (n={stats['n']})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="attack size factor")
    parser.add_argument("--only", nargs="*", choices=ATTACKS, default=None)
    parser.add_argument(
        "--nofile", type=int, default=None, help="open-file limit of twin csms (e.g. 1024)"
    )
    args = parser.parse_args(argv)
    print(
        f"twin csms under attack (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    for name in args.only or ATTACKS:
        r = asyncio.run(run_attack(name, args.scale, args.nofile))
        o = r["outcome"]
        print(
            f"{name}: {o.get('sent', 0):,} sent in {o.get('seconds', 0):.1f} s ({o.get('errors', 0)} refused/closed){' ' + o['failure'] if 'failure' in o else ''}"
        )
        for phase in ("before", "during", "after"):
            print(f"  heartbeat {phase:6}  {_fmt(r[phase])}")
        print(
            f"  RSS MB     before {r['rss_before']:.0f}, during (max) {r['rss_during']:.0f}, "
            f"after {r['rss_after']:.0f}"
        )
        second = r["second_connect_s"]
        print(
            f"  another charger connects in {second * 1000:.0f} ms"
            if second is not None
            else "  another charger could NOT connect"
        )
        print(
            f"  twin csms: {r['lines']} lines printed, {r['tracebacks']} tracebacks on stderr, "
            f"exit code after Ctrl-C {r['exit_code']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
