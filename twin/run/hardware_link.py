"""Hardware-in-the-loop link: the scenario's `hardware` bindings as live charger adapters.

The adapters (one OCPP central system for all OCPP bindings, one Modbus client per Modbus
binding) run on a dedicated asyncio loop in a background thread, behind adapters.bridge's
HardwareBridge; the mosaik step only swaps latest values with it and never waits for I/O.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adapters.base import ChargerAdapter, ChargerReading
from adapters.bridge import HardwareBridge
from twin.config import ScenarioError
from twin.config.schema import HardwareBinding, Scenario
from twin.run.pacing import WallClockPacer

SETPOINT_RESOLUTION_KW = 1e-3
"""Set-points for physical chargers smaller than this are sent as 0 kW."""


@dataclass(frozen=True)
class Binding:
    fleet: str
    index: int
    charger_id: str
    spec: HardwareBinding


class HardwareLink:
    """Owns the I/O loop thread, the CSMS (if any OCPP binding) and the bridge."""

    def __init__(self, scenario: Scenario, base_dir: Path | None = None):
        self.scenario = scenario
        self.bindings = [
            Binding(
                b.charger.partition("/")[0],
                int(b.charger.partition("/")[2]),
                b.id or f"{b.host}:{b.port}",
                b,
            )
            for b in scenario.hardware
        ]
        self.base_dir = base_dir or Path.cwd()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="hil-io", daemon=True)
        self.csms = None
        self.bridge: HardwareBridge | None = None
        self._csms_events: deque[dict] = deque()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, coro, timeout_s: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def start(self) -> None:
        self._thread.start()
        adapters: list[ChargerAdapter] = []
        ocpp = [b for b in self.bindings if b.spec.adapter == "ocpp"]
        hil = self.scenario.hil
        if ocpp:
            from adapters.ocpp.central_system import CentralSystem
            from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError

            config = CsmsConfig(
                host=hil.csms_host,
                port=hil.csms_port,
                chargers={b.charger_id: ChargerAuth(password=b.spec.password) for b in ocpp},
                tls_cert=self._path(hil.tls_cert),
                tls_key=self._path(hil.tls_key),
                meter_interval_s=hil.meter_interval_s,
            )
            # The CSMS's own events (refused identities, wrong passwords, boots, transactions,
            # protocol errors) go to the results beside the bridge's link events; a deque is
            # safe to append from the I/O thread and drain from the mosaik step.
            self.csms = CentralSystem(config, on_event=self._csms_events.append)
            try:
                self._call(self.csms.start())
            except (OSError, OcppConfigError) as err:  # port taken (a `twin csms` still running?)
                raise ScenarioError(self.scenario.source, [("hil.csms_port", str(err))]) from None
            adapters += [
                self.csms.adapter(b.charger_id, connect_timeout_s=hil.connect_timeout_s)
                for b in ocpp
            ]
        for b in self.bindings:
            if b.spec.adapter == "modbus":
                from adapters.modbus.client_adapter import ModbusChargerAdapter

                adapters.append(
                    ModbusChargerAdapter(
                        b.spec.host, b.spec.port, b.spec.map, charger_id=b.charger_id
                    )
                )
        self.bridge = HardwareBridge(
            adapters,
            loop=self._loop,
            poll_interval_s=0.2,
            connect_timeout_s=hil.connect_timeout_s,
            recovery_s=hil.degraded_hold_s,
        )
        self.bridge.start()

    def _path(self, value: str | None) -> Path | None:
        if value is None:
            return None
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path

    def stop(self) -> None:
        try:
            if self.bridge is not None:
                self._call(self.bridge.astop())
            if self.csms is not None:
                self._call(self.csms.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # -- exchange with the mosaik step (non-blocking) -------------------------------------
    def submit(self, setpoints_kw: dict[str, np.ndarray]) -> None:
        assert self.bridge is not None
        # The EMS's lag inverse leaves round-off like -1e-12 kW where it means 0; a charge-only
        # charger would be asked to discharge and refuse, so anything below 1 W is sent as 0.
        values = {
            b.charger_id: float(setpoints_kw[b.fleet][b.index])
            for b in self.bindings
            if b.fleet in setpoints_kw
        }
        self.bridge.submit_setpoints(
            {cid: 0.0 if abs(kw) < SETPOINT_RESOLUTION_KW else kw for cid, kw in values.items()}
        )

    def readings(self) -> dict[str, ChargerReading | None]:
        assert self.bridge is not None
        return self.bridge.latest_readings()

    def status(self) -> dict[str, str]:
        assert self.bridge is not None
        return self.bridge.status()

    def events(self) -> list[dict]:
        """Link events of the bridge and the central system's own events since the last call,
        each with `source` ("link" or "csms")."""
        assert self.bridge is not None
        events = [{**e, "source": "link"} for e in self.bridge.events()]
        while self._csms_events:
            events.append({**self._csms_events.popleft(), "source": "csms"})
        return sorted(events, key=lambda e: e["wall_time_s"])


class LatenessMeter:
    """Step lateness in real-time runs: wall time elapsed minus simulated time x rt_factor."""

    def __init__(
        self, rt_factor: float | None, clock=time.monotonic, pacer: WallClockPacer | None = None
    ):
        # With the run's pacer, lateness counts from when the first step was due (so the first
        # step's own compute is included), on the same clock.
        self.rt_factor = rt_factor
        self.clock = clock
        self.pacer = pacer
        self.t0: float | None = None
        self.samples_s: list[float] = []

    def __call__(self, row: dict, detail: dict) -> None:
        self.observe(int(row["time_s"]))

    def observe(self, sim_time_s: int) -> float:
        now = self.clock()
        if self.t0 is None:
            paced_t0 = self.pacer.t0 if self.pacer is not None else None
            self.t0 = (
                paced_t0 if paced_t0 is not None else now - sim_time_s * (self.rt_factor or 0.0)
            )
        late = (now - self.t0) - sim_time_s * (self.rt_factor or 0.0)
        self.samples_s.append(late)
        return late

    def summary(self) -> dict[str, float]:
        if not self.samples_s:
            return {}
        a = np.asarray(self.samples_s)
        return {
            "lateness_p50_s": float(np.percentile(a, 50)),
            "lateness_p99_s": float(np.percentile(a, 99)),
            "lateness_max_s": float(a.max()),
        }
