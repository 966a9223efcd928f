"""Hardware-in-the-loop link: the scenario's `hardware` bindings as live charger adapters.

The adapters are built by adapters.registry (each binding's protocol builds its own: one OCPP
central system for all OCPP bindings, one Modbus client per Modbus binding, ...) and run behind
adapters.bridge's HardwareBridge, which owns the I/O loop thread and runs the protocols'
services (the CSMS) on it. The mosaik step only swaps latest values with it and never waits for
I/O. Set-points go out as the EMS computed them: each adapter shapes them for its charger
(adapters.setpoint).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adapters.base import ChargerAdapter, ChargerReading
from adapters.bridge import CONNECTED_STATES, BridgeError, HardwareBridge, LinkState
from adapters.registry import BoundCharger, HardwareContext, HardwareStartError, build_hardware
from twin.config import ScenarioError
from twin.config.schema import HardwareBinding, Scenario
from twin.run.pacing import WallClockPacer


class HardwareNotReady(ScenarioError):
    """Bound chargers were not online with their capabilities within `hil.connect_timeout_s`:
    a lab run without its chargers is not a result (summary.json status `not_ready`)."""

    run_status = "not_ready"


PLAUSIBLE_MARGIN = 0.1
"""A reading may exceed the charger's rating by this share (meter tolerance, overshoot)..."""
PLAUSIBLE_SLACK_KW = 0.5
"""... plus this much (idle noise of a meter, a charge-only charger's standby draw)."""


@dataclass(frozen=True)
class PhysicalRange:
    """What a bound charger can physically measure, kW (+ charge / - discharge)."""

    min_kw: float
    max_kw: float
    source: str = ""
    """Where the rating comes from (the scenario field), for the event's text."""

    def problem(self, reading: ChargerReading) -> str | None:
        """Why `reading` cannot be a measurement of this charger, None if it can."""
        if not math.isfinite(reading.power_kw):
            return f"power {reading.power_kw!r} kW is not finite"
        if not math.isfinite(reading.energy_kwh):
            return f"energy {reading.energy_kwh!r} kWh is not finite"
        if reading.soc is not None and not (0.0 <= reading.soc <= 1.0):
            return f"SoC {reading.soc!r} outside 0..1"
        low = self.min_kw * (1 + PLAUSIBLE_MARGIN) - PLAUSIBLE_SLACK_KW
        high = self.max_kw * (1 + PLAUSIBLE_MARGIN) + PLAUSIBLE_SLACK_KW
        if not low <= reading.power_kw <= high:
            return (
                f"power {reading.power_kw:.6g} kW outside the charger's range "
                f"{self.min_kw:g}..{self.max_kw:g} kW"
                + (f" ({self.source})" if self.source else "")
            )
        return None


@dataclass(frozen=True)
class Binding:
    fleet: str
    index: int
    charger_id: str
    spec: HardwareBinding


class HardwareLink:
    """The scenario's physical chargers behind one bridge (which owns the I/O loop thread)."""

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
        self.ranges = {b.charger_id: self._physical_range(b) for b in self.bindings}
        self.bridge: HardwareBridge | None = None
        # Plausibility and capability guards of the link (mosaik thread only): charger id ->
        # wall-clock time until which it stays degraded for an implausible reading; chargers
        # whose discharge set-point was withheld (one event per episode).
        self._implausible_until: dict[str, float] = {}
        self._withheld: set[str] = set()
        self._link_events: list[dict] = []
        self.rejected_readings: dict[str, int] = {b.charger_id: 0 for b in self.bindings}
        self.withheld_setpoints: dict[str, int] = {b.charger_id: 0 for b in self.bindings}
        # Per charger over the run: steps online (measured), steps seen, energy the EMS
        # commanded (the model's expectation) and energy measured by the charger's power, kWh.
        self._steps_online: dict[str, int] = {b.charger_id: 0 for b in self.bindings}
        self._steps: dict[str, int] = {b.charger_id: 0 for b in self.bindings}
        self._commanded_kwh: dict[str, float] = {b.charger_id: 0.0 for b in self.bindings}
        self._measured_kwh: dict[str, float] = {b.charger_id: 0.0 for b in self.bindings}
        self._meter_kwh: dict[str, list[float]] = {}
        self._adapters: dict[str, ChargerAdapter] = {}
        # The protocols' own events (e.g. the CSMS's refused identities, boots, transactions);
        # a deque is safe to append from the I/O thread and drain from the mosaik step.
        self._protocol_events: deque[dict] = deque()
        # Per charger its share of a `bus:` DSO envelope (set by the wiring when the EMS has a
        # grid model with envelopes), and the last (import_kw, export_kw) queued.
        self.envelopes: list[Any] = []
        self.site_net_load_kw: Callable[[int], np.ndarray] | None = None
        # NotifyEVChargingNeeds read so far (sequence number per charger), and the run's pace
        # (wall seconds per simulated second; PreparedRun.run sets it for paced runs).
        self._needs_seen: dict[str, int] = {}
        self.rt_factor: float = scenario.hil.rt_factor
        self._limits_sent: dict[str, tuple[float, float]] = {}

    def start(self, wait_ready: bool = True) -> None:
        """Build every binding's adapter through the registry, start the bridge and wait up to
        `hil.connect_timeout_s` (wall clock) for every charger to be ready (see `not_ready`).

        Raises:
            ScenarioError: a protocol's service could not start for a reason in the scenario
                (e.g. `hil.csms_port` taken by a `twin csms` still running).
            HardwareNotReady: chargers still not ready at the timeout, each named with why.
        """
        hil = self.scenario.hil
        hardware = build_hardware(
            [
                BoundCharger(b.charger_id, b.spec, self.scenario.fleets[b.fleet].charger)
                for b in self.bindings
            ],
            HardwareContext(hil=hil, base_dir=self.base_dir, on_event=self._protocol_events.append),
        )
        bridge = HardwareBridge(
            hardware.adapters,
            services=hardware.services,
            poll_interval_s=0.2,
            connect_timeout_s=hil.connect_timeout_s,
            recovery_s=hil.degraded_hold_s,
        )
        try:
            bridge.start(timeout_s=30.0)
        except BridgeError as err:
            cause = err.__cause__
            if isinstance(cause, HardwareStartError):
                raise ScenarioError(self.scenario.source, [(cause.field, str(cause))]) from None
            raise
        self.bridge = bridge
        self._adapters = {a.charger_id: a for a in hardware.adapters}
        if wait_ready:
            self.wait_ready(hil.connect_timeout_s)

    def not_ready(self) -> dict[str, str]:
        """Chargers not ready yet, with why: ready = online, answered a read and reported its
        capabilities (an adapter with `capabilities_reported` says when, e.g. OCPP after its
        BootNotification; the others know theirs from their register map or configuration)."""
        assert self.bridge is not None
        status, readings = self.bridge.status(), self.bridge.latest_readings()
        missing: dict[str, str] = {}
        for b in self.bindings:
            state = status.get(b.charger_id)
            adapter = self._adapters.get(b.charger_id)
            if state not in CONNECTED_STATES:
                missing[b.charger_id] = (
                    "not connected" if state == "connecting" else f"not connected (link {state})"
                )
            elif readings.get(b.charger_id) is None:
                missing[b.charger_id] = "connected, no reading yet"
            elif not getattr(adapter, "capabilities_reported", True):
                missing[b.charger_id] = "connected, capabilities not reported yet"
        return missing

    def wait_ready(self, timeout_s: float, poll_s: float = 0.05) -> None:
        """Return once every bound charger is ready; raise HardwareNotReady after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while missing := self.not_ready():
            if time.monotonic() >= deadline:
                where = {b.charger_id: i for i, b in enumerate(self.bindings)}
                raise HardwareNotReady(
                    self.scenario.source,
                    [
                        (
                            f"hardware[{where[cid]}]",
                            f"charger {cid} ({self.bindings[where[cid]].spec.adapter}, "
                            f"{self.bindings[where[cid]].spec.charger}) not ready within "
                            f"hil.connect_timeout_s = {timeout_s:g} s: {why}",
                        )
                        for cid, why in missing.items()
                    ],
                )
            time.sleep(poll_s)

    def _physical_range(self, b: Binding) -> PhysicalRange:
        # The simulated charger the physical one replaces states its rating; a binding may
        # declare the physical charger bidirectional itself.
        charger = self.scenario.fleets[b.fleet].charger
        declared = getattr(b.spec, "bidirectional", None)
        bidirectional = charger.bidirectional if declared is None else declared
        return PhysicalRange(
            -charger.max_kw if bidirectional else 0.0, charger.max_kw, f"fleets.{b.fleet}.charger"
        )

    def _event(self, charger_id: str, kind: str, detail: str) -> None:
        self._link_events.append(
            {
                "charger_id": charger_id,
                "kind": kind,
                "detail": detail,
                "time_s": time.monotonic(),
                "wall_time_s": time.time(),
                "source": "link",
            }
        )

    def stop(self) -> None:
        """Release every charger, stop the protocols' services and the bridge's loop thread."""
        if self.bridge is not None:
            self.bridge.stop(timeout_s=30.0)

    # -- exchange with the mosaik step (non-blocking) -------------------------------------
    def submit(self, setpoints_kw: dict[str, np.ndarray]) -> None:
        """Queue the EMS's set-points of the bound EVs. A discharge set-point for a charger
        that has not said it can discharge is sent as 0 kW (an event per episode), never as a
        command it would refuse."""
        assert self.bridge is not None
        values: dict[str, float] = {}
        for b in self.bindings:
            if b.fleet not in setpoints_kw:
                continue
            value = float(setpoints_kw[b.fleet][b.index])
            adapter = self._adapters.get(b.charger_id)
            if value < 0 and not getattr(adapter, "can_discharge", False):
                self.withheld_setpoints[b.charger_id] += 1
                if b.charger_id not in self._withheld:
                    self._withheld.add(b.charger_id)
                    self._event(
                        b.charger_id,
                        "discharge_withheld",
                        f"{value:.3f} kW sent as 0 kW: the charger has not said it can discharge",
                    )
                value = 0.0
            elif value < 0:
                self._withheld.discard(b.charger_id)
            # As the EMS computed them otherwise: each adapter shapes its charger's value
            # (adapters.setpoint, e.g. below the charger's resolution is 0).
            values[b.charger_id] = value
            self._commanded_kwh[b.charger_id] += value * self.scenario.step / 3600.0
        self.bridge.submit_setpoints(values)

    def ev_needs(self, sim_time_s: float) -> list[tuple[Binding, float | None, float | None]]:
        """The EVs' new NotifyEVChargingNeeds since the last call: per binding, its departure
        in simulation seconds (the wall-clock departure mapped through the run's pace: one wall
        second is 1 / rt_factor simulated seconds) and the energy it asks for, kWh."""
        out = []
        now = time.time()
        for b in self.bindings:
            read = getattr(self._adapters.get(b.charger_id), "ev_needs", None)
            if read is None or read[0] == self._needs_seen.get(b.charger_id):
                continue
            seq, departure_unix_s, energy_kwh = read
            self._needs_seen[b.charger_id] = seq
            depart_s = (
                None
                if departure_unix_s is None
                else sim_time_s + (departure_unix_s - now) / self.rt_factor
            )
            out.append((b, depart_s, energy_kwh))
            self._event(
                b.charger_id,
                "ev_needs",
                f"departure in {'-' if depart_s is None else f'{depart_s - sim_time_s:.0f} s'}"
                f" (simulated), energy {'-' if energy_kwh is None else f'{energy_kwh:.2f} kWh'}",
            )
        return out

    def submit_envelope(self, k: int) -> None:
        """Step k: send each enveloped charger its share of the DSO envelope when it moved
        (twin/run/charger_envelopes.py); the EMS keeps the envelope in its plan either way."""
        if not self.envelopes or self.bridge is None:
            return
        from twin.run.charger_envelopes import limits_to_send

        assert self.site_net_load_kw is not None  # set with the envelopes (wiring)
        due = limits_to_send(self.envelopes, k, self._limits_sent, self.site_net_load_kw)
        if due:
            self.bridge.submit_limits(due)
            self._limits_sent.update(due)

    def readings(self) -> dict[str, ChargerReading | None]:
        """Latest reading per charger; an implausible one (non-finite, outside the charger's
        physical range) is None, recorded as an event, and the charger is degraded for
        `hil.degraded_hold_s`."""
        assert self.bridge is not None
        readings = self.bridge.latest_readings()
        now = time.monotonic()
        for cid, reading in readings.items():
            if reading is None:
                continue
            problem = self.ranges[cid].problem(reading) if cid in self.ranges else None
            if problem is None:
                continue
            readings[cid] = None
            self.rejected_readings[cid] += 1
            if now >= self._implausible_until.get(cid, 0.0):
                self._event(cid, "implausible", f"reading rejected: {problem}")
            self._implausible_until[cid] = now + self.scenario.hil.degraded_hold_s
        return readings

    def observe_step(self, charger_id: str, reading: ChargerReading | None, online: bool) -> None:
        """One step of a charger as the run used it (online = measured): for `stats`."""
        self._steps[charger_id] += 1
        if online and reading is not None:
            self._steps_online[charger_id] += 1
            self._measured_kwh[charger_id] += reading.power_kw * self.scenario.step / 3600.0
            meter = self._meter_kwh.setdefault(charger_id, [reading.energy_kwh] * 2)
            meter[1] = reading.energy_kwh

    def stats(self) -> dict[str, dict[str, float | int | None]]:
        """Per charger over the run: online share, set-points sent/accepted/refused (and
        withheld: discharge to a charger that cannot), rejected readings, energy the EMS
        commanded (modelled) against energy measured (its power over the steps it was online,
        and its meter register's advance), kWh."""
        counts = self.bridge.setpoint_counts() if self.bridge is not None else {}
        out: dict[str, dict[str, float | int | None]] = {}
        for b in self.bindings:
            cid = b.charger_id
            steps = self._steps[cid]
            meter = self._meter_kwh.get(cid)
            out[cid] = {
                "online_share": self._steps_online[cid] / steps if steps else 0.0,
                **counts.get(cid, {"sent": 0, "accepted": 0, "refused": 0}),
                "withheld": self.withheld_setpoints[cid],
                "rejected_readings": self.rejected_readings[cid],
                "energy_modelled_kwh": self._commanded_kwh[cid],
                "energy_measured_kwh": self._measured_kwh[cid],
                "meter_advance_kwh": meter[1] - meter[0] if meter else None,
            }
        return out

    def status(self) -> dict[str, str]:
        assert self.bridge is not None
        status = self.bridge.status()
        now = time.monotonic()
        for cid, until in self._implausible_until.items():
            if now < until and status.get(cid) in CONNECTED_STATES:
                status[cid] = LinkState.DEGRADED
        return status

    def events(self) -> list[dict]:
        """Link events of the bridge and the protocols' own events since the last call, each
        with `source` ("link", or the protocol's, e.g. "csms")."""
        assert self.bridge is not None
        events = [{**e, "source": "link"} for e in self.bridge.events()]
        events += self._link_events
        self._link_events = []
        while self._protocol_events:
            events.append(self._protocol_events.popleft())
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
