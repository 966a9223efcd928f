"""A reconnect storm through `twin csms`: N emulated chargers boot, then all lose their connection
at once and come back at once (as after a depot's network outage).

    python -m benchmarks.bench_csms_storm [--chargers 1000] [--version 1.6]

`twin csms` runs as the real command in a child process (passwords from a file, output on a
pipe); the emulators (adapters.testing.ocpp.ChargePointEmulator) run in another child with their
own loop. A refused or evicted connection is retried after 0.2-1 s, as a charger would.
Prints the time of the first wave (connect + boot + transaction) and of the storm (drop + all
back), the lines and bytes `twin csms` printed, its RSS, and tracebacks on its stderr.
Target (issue 15): the storm of 1,000 chargers in <= 5 s (it took 13.8 s, 608,640 lines).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import sys
import time
from typing import Any

from benchmarks.csms_process import CsmsProcess, EmbeddedCsms, wait_until

PASSWORD = "storm-password-0123456789"


def _emulators(url: str, ids: list[str], version: str, concurrency: int, conn: Any) -> None:
    """Child: on "start" start all, on "storm" drop all and reconnect all, on "stop" stop."""
    from adapters.testing.ocpp.emulator import ChargePointEmulator, EmulatorConfig, EmulatorError

    async def retrying(action, attempts: int = 20) -> int:
        for attempt in range(attempts):
            try:
                await action()
                return attempt
            except EmulatorError:
                await asyncio.sleep(random.uniform(0.2, 1.0))
        raise EmulatorError("gave up")

    async def main() -> None:
        gate = asyncio.Semaphore(concurrency)
        emulators = [
            ChargePointEmulator(
                EmulatorConfig(
                    url=url,
                    charger_id=i,
                    version=version,
                    password=PASSWORD,
                    meter_interval_s=300.0,
                    response_timeout_s=30.0,
                )
            )
            for i in ids
        ]
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            started = time.perf_counter()
            retries = failed = 0
            if command == "start":

                async def start(emulator: ChargePointEmulator) -> None:
                    nonlocal retries, failed
                    async with gate:
                        try:
                            retries += await retrying(emulator.start)
                        except Exception:  # noqa: BLE001 - counted
                            failed += 1

                await asyncio.gather(*(start(e) for e in emulators))
            elif command == "storm":
                await asyncio.gather(*(e.drop_connection() for e in emulators))
                started = time.perf_counter()

                async def back(emulator: ChargePointEmulator) -> None:
                    nonlocal retries, failed
                    async with gate:
                        try:
                            retries += await retrying(emulator.reconnect)
                        except Exception:  # noqa: BLE001 - counted
                            failed += 1

                await asyncio.gather(*(back(e) for e in emulators))
            else:
                await asyncio.gather(*(e.close() for e in emulators), return_exceptions=True)
                conn.send({})
                return
            conn.send(
                {
                    "seconds": time.perf_counter() - started,
                    "retries": retries,
                    "failed": failed,
                    "cpu_s": time.process_time(),
                }
            )

    asyncio.run(main())


def run_storm(
    n: int, version: str, concurrency: int, time_limit_s: float, embedded: bool = False
) -> dict:
    ids = [f"CP{k:05d}" for k in range(n)]
    passwords = {i: PASSWORD for i in ids}
    csms: CsmsProcess | EmbeddedCsms = (
        EmbeddedCsms(passwords) if embedded else CsmsProcess(passwords)
    )
    ctx = mp.get_context("spawn")
    parent, child_end = ctx.Pipe()
    child = ctx.Process(target=_emulators, args=(csms.url, ids, version, concurrency, child_end))
    child.start()
    result: dict[str, Any] = {"chargers": n, "version": version, "rss_start_mb": csms.rss_mb()}
    try:
        t0 = time.perf_counter()
        parent.send("start")
        if not parent.poll(time_limit_s):
            raise TimeoutError("first wave did not finish")
        wave = parent.recv()
        wait_until(lambda: csms.count("boot") >= n - wave["failed"], time_limit_s)
        result.update(
            wave_s=time.perf_counter() - t0,
            wave_retries=wave["retries"],
            wave_failed=wave["failed"],
            rss_after_wave_mb=csms.rss_mb(),
        )
        lines_before, reconnects_before = csms.lines, csms.count("reconnect")
        cpu_before = csms.cpu_s()
        t1 = time.perf_counter()
        parent.send("storm")
        if not parent.poll(time_limit_s):
            raise TimeoutError("storm did not finish")
        storm = parent.recv()
        # Done when twin csms has printed every charger's reconnect.
        wait_until(
            lambda: csms.count("reconnect") - reconnects_before >= n - storm["failed"],
            time_limit_s,
        )
        result.update(
            storm_s=time.perf_counter() - t1,
            storm_emulators_s=storm["seconds"],
            storm_retries=storm["retries"],
            storm_failed=storm["failed"],
            storm_lines=csms.lines - lines_before,
            storm_csms_cpu_s=csms.cpu_s() - cpu_before,
            storm_emulators_cpu_s=storm["cpu_s"] - wave["cpu_s"],
            load_average=os.getloadavg()[0],
            rss_after_storm_mb=csms.rss_mb(),
        )
        parent.send("stop")
        parent.poll(60)
    finally:
        child.join(60)
        if child.is_alive():
            child.terminate()
        exit_code = csms.stop()
    result.update(
        total_lines=csms.lines,
        total_bytes=csms.bytes,
        tracebacks=csms.tracebacks(),
        exit_code=exit_code,
        stderr_head=csms.stderr_lines[:20],
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chargers", type=int, default=1000)
    parser.add_argument("--version", choices=["1.6", "2.0.1", "2.1"], default="1.6")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=300.0, help="per phase, s")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="the CentralSystem in this process, printing nothing (the comparison)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.chargers <= 10000:
        print("--chargers must be within 1..10000", file=sys.stderr)
        return 2
    r = run_storm(args.chargers, args.version, args.concurrency, args.time_limit, args.embedded)
    where = "embedded CentralSystem" if args.embedded else "twin csms"
    print(f"{where} reconnect storm, OCPP {r['version']}, {r['chargers']:,} chargers")
    print(
        f"  first wave   {r['wave_s']:.1f} s (connect, boot, transaction; "
        f"retries {r['wave_retries']}, failed {r['wave_failed']})"
    )
    print(
        f"  storm        {r['storm_s']:.2f} s until the CSMS recorded every reconnect "
        f"(emulators back in {r['storm_emulators_s']:.2f} s; retries {r['storm_retries']}, "
        f"failed {r['storm_failed']}); {r['storm_lines']:,} lines printed"
    )
    print(
        f"  storm CPU    twin csms {r['storm_csms_cpu_s']:.2f} s, emulators "
        f"{r['storm_emulators_cpu_s']:.2f} s (machine load average {r['load_average']:.1f} "
        f"on {os.cpu_count()} cores)"
    )
    print(
        f"  output       {r['total_lines']:,} lines, {r['total_bytes'] / 1e6:.2f} MB in all; "
        f"stderr tracebacks/never-retrieved/destroyed-pending: {r['tracebacks']}; "
        f"exit code after Ctrl-C {r['exit_code']}"
    )
    print(
        f"  twin csms RSS  start {r['rss_start_mb']:.0f} MB, after wave "
        f"{r['rss_after_wave_mb']:.0f} MB, after storm {r['rss_after_storm_mb']:.0f} MB"
    )
    if r["tracebacks"]:
        print("  stderr of twin csms (head):")
        for line in r["stderr_head"]:
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
