"""CSMS at fleet scale: N emulated OCPP charge points against one central system on 127.0.0.1.

    python -m benchmarks.bench_csms_load [--chargers 10000] [--version 1.6] [--time-limit 600]

The central system (adapters.ocpp.CentralSystem) runs in this process; the emulators
(adapters.ocpp.emulator.ChargePointEmulator) run in a child process with its own event loop, so
each side's memory is its own. Steps, each bounded in time: all chargers connect (boot + start
transaction), then one fleet-wide set-point broadcast (SetChargingProfile to every charger,
concurrently) completes. Prints connect time, broadcast time, per-charger round trip p50/p99/max
and peak memory of both processes. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, needed), hard) if hard != resource.RLIM_INFINITY else max(soft, needed)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _emulator_process(url: str, ids: list[str], version: str, concurrency: int, conn: Any) -> None:
    """Child: start every emulator (bounded concurrency), report, hold them until told to stop."""
    _raise_fd_limit(len(ids) + 256)
    from adapters.testing.ocpp.emulator import ChargePointEmulator, EmulatorConfig

    async def main() -> None:
        gate = asyncio.Semaphore(concurrency)
        emulators = [
            ChargePointEmulator(
                EmulatorConfig(
                    url=url, charger_id=i, version=version, max_power_kw=6.0, meter_interval_s=300.0
                )
            )
            for i in ids
        ]
        failures: list[str] = []

        async def start(emu: ChargePointEmulator) -> None:
            async with gate:
                try:
                    await emu.start()
                except Exception as err:  # noqa: BLE001 - counted and reported, not fatal
                    failures.append(f"{emu.config.charger_id}: {err}")

        t0 = time.perf_counter()
        await asyncio.gather(*(start(e) for e in emulators))
        conn.send(
            {
                "started_s": time.perf_counter() - t0,
                "failures": failures[:5],
                "failed": len(failures),
            }
        )
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # "stop"
        targets = [e.target_kw for e in emulators if e.connected]
        await asyncio.gather(*(e.stop() for e in emulators), return_exceptions=True)
        conn.send({"peak_mb": _peak_mb(), "targets_kw": targets})

    asyncio.run(main())


async def run_load(
    n: int,
    version: str,
    time_limit_s: float,
    concurrency: int,
    setpoint_kw: float,
    profile_to: Path | None = None,
) -> dict:
    from adapters.ocpp.central_system import CentralSystem
    from adapters.ocpp.config import ChargerAuth, CsmsConfig

    _raise_fd_limit(n + 256)
    ids = [f"CP{k:05d}" for k in range(n)]
    config = CsmsConfig(
        host="127.0.0.1",
        port=0,
        chargers={i: ChargerAuth() for i in ids},
        allow_no_password=True,  # a load test on loopback
        meter_interval_s=300,
        heartbeat_interval_s=3600,
        response_timeout_s=60.0,
    )
    deadline = time.perf_counter() + time_limit_s
    result: dict[str, Any] = {"chargers": n, "version": version}
    cs = CentralSystem(config)
    await cs.start()
    ctx = mp.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    child = ctx.Process(
        target=_emulator_process, args=(cs.url, ids, version, concurrency, child_end)
    )
    try:
        t0 = time.perf_counter()
        child.start()
        loop = asyncio.get_running_loop()
        while not parent_end.poll():
            if time.perf_counter() > deadline or not child.is_alive():
                raise TimeoutError("emulators did not finish starting within the time limit")
            await asyncio.sleep(0.2)
        started = parent_end.recv()
        online = sum(1 for i in ids if cs.session(i).online)
        result.update(
            connect_s=time.perf_counter() - t0,
            connected=online,
            start_failures=started["failed"],
            start_failure_examples=started["failures"],
        )

        rtt: list[float] = []
        errors: list[str] = []

        async def send(charger_id: str) -> None:
            s = time.perf_counter()
            try:
                await cs.adapter(charger_id).set_power(setpoint_kw)
                rtt.append(time.perf_counter() - s)
            except Exception as err:  # noqa: BLE001 - counted and reported
                errors.append(f"{charger_id}: {err}")

        profiler = None
        if profile_to is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t1 = time.perf_counter()
        online_ids = [i for i in ids if cs.session(i).online]
        await asyncio.wait_for(
            asyncio.gather(*(send(i) for i in online_ids)), max(deadline - time.perf_counter(), 1.0)
        )
        result["broadcast_s"] = time.perf_counter() - t1
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile_to))
        ms = np.asarray(rtt) * 1000.0
        result.update(
            acknowledged=len(rtt),
            broadcast_errors=len(errors),
            error_examples=errors[:3],
            rtt_p50_ms=float(np.percentile(ms, 50)) if ms.size else None,
            rtt_p99_ms=float(np.percentile(ms, 99)) if ms.size else None,
            rtt_max_ms=float(ms.max()) if ms.size else None,
            csms_peak_mb=_peak_mb(),
        )
        parent_end.send("stop")
        end = await loop.run_in_executor(
            None, lambda: parent_end.recv() if parent_end.poll(60) else {}
        )
        targets = end.get("targets_kw", [])
        result.update(
            emulators_peak_mb=end.get("peak_mb"),
            emulators_holding_setpoint=sum(1 for t in targets if abs(t - setpoint_kw) < 1e-6),
        )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(cs.stop(timeout_s=5.0), 30.0)
        child.join(30)
        if child.is_alive():
            child.terminate()
            child.join(5)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chargers", type=int, default=10000)
    parser.add_argument("--version", choices=["1.6", "2.0.1", "2.1"], default="1.6")
    parser.add_argument("--time-limit", type=float, default=600.0, help="whole benchmark, s")
    parser.add_argument("--concurrency", type=int, default=200, help="emulators starting at once")
    parser.add_argument("--setpoint-kw", type=float, default=3.7)
    parser.add_argument(
        "--profile", type=Path, default=None, help="cProfile the CSMS during the broadcast to FILE"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.chargers <= 20000:
        print("--chargers must be within 1..20000", file=sys.stderr)
        return 2
    r = asyncio.run(
        run_load(
            args.chargers,
            args.version,
            args.time_limit,
            args.concurrency,
            args.setpoint_kw,
            profile_to=args.profile,
        )
    )
    print(f"CSMS load, OCPP {r['version']}, {r['chargers']:,} emulated charge points on 127.0.0.1")
    print(
        f"  connected            {r['connected']:,} / {r['chargers']:,} in {r['connect_s']:.1f} s "
        f"(start failures: {r['start_failures']})"
    )
    print(
        f"  broadcast            {r['acknowledged']:,} acknowledged in {r['broadcast_s']:.2f} s "
        f"(errors: {r['broadcast_errors']})"
    )
    print(
        f"  round trip           p50 {r['rtt_p50_ms']:.1f} ms, p99 {r['rtt_p99_ms']:.1f} ms, "
        f"max {r['rtt_max_ms']:.1f} ms (all sent at once)"
    )
    print(f"  emulators holding the set-point: {r['emulators_holding_setpoint']:,}")
    print(
        f"  peak memory          CSMS {r['csms_peak_mb']:.0f} MB, emulators {r['emulators_peak_mb'] or 0:.0f} MB"
    )
    for example in r["start_failure_examples"] + r["error_examples"]:
        print(f"  e.g. {example}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
