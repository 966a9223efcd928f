"""Lab readiness: a HIL run waits up to `hil.connect_timeout_s` for every bound charger to be
online with its capabilities reported, else it stops naming the missing ones and writes nothing
that reads as a result. Real CSMS, real websockets, real subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from adapters.testing.ocpp.emulator import ChargePointEmulator, EmulatorConfig
from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.run.hardware_link import HardwareLink, HardwareNotReady

HIL = ROOT / "scenarios" / "hil_lab.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hardware_on(modbus_port: int) -> list[dict]:
    hardware = [b.model_dump() for b in load_scenario(HIL).hardware]
    hardware[2]["port"] = modbus_port  # nothing listens there
    return hardware


def test_lab_run_without_chargers_exits_non_zero_naming_them(tmp_path):
    csms_port, modbus_port = _free_port(), _free_port()
    timeout_s = 3
    out = tmp_path / "lab"
    hardware = json.dumps(_hardware_on(modbus_port))
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "twin.cli", "run", str(HIL), "--rt-factor", "0.01", "--out",
         str(out), "--no-progress", "--set", f"hil.csms_port={csms_port}", "--set",
         f"hil.connect_timeout_s={timeout_s}", "--set", f"hardware={hardware}"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    wall = time.monotonic() - t0
    assert proc.returncode != 0, proc.stdout
    for name in ("CP001", "CP002", f"127.0.0.1:{modbus_port}"):
        assert f"charger {name} " in proc.stderr and "not ready within" in proc.stderr, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "not_ready"
    assert len(summary["errors"]) == 3 and summary["steps"] == 0
    # Nothing that reads as a result: no KPIs, no (all-zero) violation counts.
    assert not {"kpis", "kpis_error", "violations"} & set(summary), sorted(summary)
    assert not (out / "timeseries.parquet").exists()
    assert not list(out.glob("*.parquet"))
    assert "completed" not in proc.stdout + proc.stderr
    # Within the timeout: building the run (grid, fleets) comes first and is not paced.
    assert summary["wall_time_s"] < wall


class _Chargers:
    """OCPP emulators on their own loop, retrying until the link's CSMS listens."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.emulators: list[ChargePointEmulator] = []

    def start(
        self,
        url: str,
        charger_id: str,
        password: str,
        version: str,
        discharge: bool = False,
        **config: object,
    ) -> None:
        emu = ChargePointEmulator(
            EmulatorConfig(
                url=url,
                charger_id=charger_id,
                version=version,
                password=password,
                max_power_kw=6.0,  # the lab's chargers, as the bound simulated ones
                can_discharge=discharge,
                meter_interval_s=10,  # until the CSMS configures the run's interval
                **config,  # type: ignore[arg-type]
            )
        )
        self.emulators.append(emu)

        async def keep_trying() -> None:
            for _ in range(600):
                try:
                    await emu.start()
                    return
                except Exception:  # noqa: BLE001 - refused until the CSMS listens
                    await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(keep_trying(), self.loop)

    def stop(self) -> None:
        for emu in self.emulators:
            with contextlib.suppress(Exception):  # teardown: best effort
                asyncio.run_coroutine_threadsafe(emu.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _ocpp_only(csms_port: int, timeout_s: float):
    hardware = [b for b in _hardware_on(_free_port()) if b["adapter"] == "ocpp"]
    return load_scenario(
        HIL,
        {"hil.csms_port": csms_port, "hil.connect_timeout_s": timeout_s, "hardware": hardware},
    )


def test_only_the_missing_charger_is_named():
    csms_port = _free_port()
    chargers = _Chargers()
    chargers.start(f"ws://127.0.0.1:{csms_port}/ocpp", "CP001", "lab-secret-1", "1.6")
    link = HardwareLink(_ocpp_only(csms_port, timeout_s=8.0))
    try:
        with pytest.raises(HardwareNotReady) as err:
            link.start()
        assert [f for f, _ in err.value.problems] == ["hardware[1]"]
        assert "CP002" in err.value.problems[0][1]
        assert "CP001" not in str(err.value)
    finally:
        link.stop()
        chargers.stop()


def test_ready_when_every_charger_is_online_with_its_metering_set_up():
    csms_port = _free_port()
    chargers = _Chargers()
    url = f"ws://127.0.0.1:{csms_port}/ocpp"
    chargers.start(url, "CP001", "lab-secret-1", "1.6")
    chargers.start(url, "CP002", "lab-secret-2", "2.1")
    link = HardwareLink(_ocpp_only(csms_port, timeout_s=60.0))
    try:
        link.start()  # returns only once both are ready
        assert link.not_ready() == {}
        assert set(link.status().values()) == {"online"}
        # The run's meter interval reached both chargers before the run began.
        assert [e.meter_interval_s for e in chargers.emulators] == [1, 1]
    finally:
        link.stop()
        chargers.stop()
