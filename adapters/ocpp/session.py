"""State of one configured charger as the CSMS knows it, across its successive connections.

The per-version ChargePoint handler of the current connection feeds inbound messages in
(`on_*` methods); outbound requests (metering set-up, set-points, clearing) go out through the
current connection. A session outlives its connections, so the latest set-point survives a
disconnect and is re-applied when the charger comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.v21 import call as call21
from ocpp.v201 import call as call201
from websockets.exceptions import ConnectionClosed

from adapters import setpoint
from adapters.base import ChargerStatus, ChargerUnavailable, SetpointRejected
from adapters.ocpp import charging_profiles
from adapters.ocpp.config import ChargerAuth
from adapters.ocpp.meter_values import MeterSample, non_finite_measurands, parse_meter_values

LOGGER = logging.getLogger(__name__)

# Below this magnitude a charger counts as idle (meter noise), kW.
_IDLE_THRESHOLD_KW = 0.05

EventRecorder = Callable[[str, str, str], None]
"""(charger_id, kind, detail) -> None; the central system's event log."""


def _retrieve_exception(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()


MAX_EV_ENERGY_KWH = 1000.0


@dataclass(frozen=True)
class EvNeeds:
    """What an EV said in NotifyEVChargingNeeds.

    Attributes:
        departure_unix_s: its departure, s since the epoch (UTC), or None.
        energy_kwh: the energy it asks for, kWh (AC/DC `energy_amount`, or 2.1's
            `ev_target_energy_request`), or None.
        problem: why a value was left out ("" = none).
    """

    departure_unix_s: float | None
    energy_kwh: float | None
    problem: str = ""


def ev_needs_from(charging_needs: dict) -> EvNeeds:
    """Departure and energy from a NotifyEVChargingNeeds `charging_needs` (snake_case keys)."""
    problems = []
    departure = None
    raw = charging_needs.get("departure_time")
    if raw is not None:
        try:
            when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise ValueError("no time zone")
            departure = when.timestamp()
        except ValueError as exc:
            problems.append(f"departure_time {raw!r}: {exc}")
    energy_wh = None
    for key, field_name in (
        ("ac_charging_parameters", "energy_amount"),
        ("dc_charging_parameters", "energy_amount"),
        ("v2x_charging_parameters", "ev_target_energy_request"),
    ):
        block = charging_needs.get(key)
        if isinstance(block, dict) and block.get(field_name) is not None:
            energy_wh = block[field_name]
            break
    energy = None
    if energy_wh is not None:
        try:
            value = float(energy_wh) / 1000.0
        except (TypeError, ValueError):
            value = math.nan
        if math.isfinite(value) and 0.0 <= value <= MAX_EV_ENERGY_KWH:
            energy = value
        else:
            problems.append(f"energy {energy_wh!r} Wh is not a plan")
    return EvNeeds(departure, energy, "; ".join(problems))


class SetpointCallError(SetpointRejected):
    """The charger answered a set-point with a CALLERROR.

    Attributes:
        error_code: the OCPP error code (e.g. "NotSupported", "FormatViolation").
    """

    def __init__(self, message: str, error_code: str) -> None:
        super().__init__(message)
        self.error_code = error_code


@dataclass(frozen=True)
class ChargerInfo:
    """A connected charger as listed by `CentralSystem.connected()`.

    Attributes:
        charger_id: OCPP identity.
        version: negotiated protocol ("1.6", "2.0.1", "2.1").
        remote_address: "host:port" of the charger.
        vendor: from BootNotification, if received on some connection.
        model: from BootNotification.
        transaction_id: active transaction, if any.
        connected_since_s: CSMS clock time of the connection, s.
    """

    charger_id: str
    version: str
    remote_address: str
    vendor: str | None
    model: str | None
    transaction_id: str | None
    connected_since_s: float


class ChargerSession:
    """Everything the CSMS tracks for one charger identity.

    Args:
        charger_id: OCPP identity.
        auth: its configuration entry.
        meter_interval_s: sampling interval to ask for, s.
        heartbeat_interval_s: heartbeat interval to return in BootNotification, s.
        clock: CSMS clock, s (monotonic).
        record: event sink of the central system.
        transaction_numbers: shared source of 1.6 transaction ids (unique per CSMS).
    """

    def __init__(
        self,
        charger_id: str,
        auth: ChargerAuth,
        meter_interval_s: int,
        heartbeat_interval_s: int,
        clock: Callable[[], float],
        record: EventRecorder,
        transaction_numbers: Iterator[int],
    ) -> None:
        self.charger_id = charger_id
        self.auth = auth
        self.connector_id = auth.connector_id
        self.heartbeat_interval_s = heartbeat_interval_s
        self._transaction_numbers = transaction_numbers
        self._meter_interval_s = meter_interval_s
        self._clock = clock
        self._record = record
        self.cp: Any = None
        self.websocket: Any = None
        self.version: str | None = None
        self.remote_address = ""
        self.connected_since_s = 0.0
        self.connections = 0
        self.vendor: str | None = None
        self.model: str | None = None
        self.connector_status: str | None = None
        self.charging_state: str | None = None
        self.transaction_id: int | str | None = None
        self.ev_bidirectional: bool | None = None
        self.ev_needs: EvNeeds | None = None  # the latest NotifyEVChargingNeeds' plan
        self.ev_needs_seq = 0  # counts them, so a reader sees each new one once
        self.target_kw: float | None = None
        self.power_kw = 0.0
        self.energy_kwh = 0.0
        self.soc: float | None = None
        self.sample_time_s: float | None = None
        self.meter_samples = 0
        self.metering_configured = False
        """The CSMS asked for its measurands and interval on the current connection (answered,
        accepted or not): until then the charger may sample at another CSMS's interval."""
        self._connected = asyncio.Event()
        self._command_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._keyed: dict[str, asyncio.Task] = {}

    # -- connection life cycle ------------------------------------------------------------

    @property
    def online(self) -> bool:
        """True while a websocket connection of this charger is open."""
        return self.cp is not None

    def attach(self, cp: Any, websocket: Any, version: str, remote_address: str) -> None:
        """Bind a new connection (a reconnect replaces the previous one)."""
        self.cp = cp
        self.websocket = websocket
        self.version = version
        self.remote_address = remote_address
        self.connected_since_s = self._clock()
        self.connections += 1
        self._keyed.clear()  # the previous connection's set-up must not hold back this one's
        self.metering_configured = False
        self._connected.set()

    def detach(self, cp: Any) -> bool:
        """Forget the connection `cp` if it is still the current one; True if it was."""
        if self.cp is not cp:
            return False
        close_waiters = getattr(cp, "close_waiters", None)
        if close_waiters is not None:
            close_waiters()
        self.cp = None
        self.websocket = None
        self._connected.clear()
        for task in list(self._tasks):
            task.cancel()
        return True

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait until the charger is connected.

        Raises:
            ChargerUnavailable: it did not connect within `timeout_s`.
        """
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError as exc:
            raise ChargerUnavailable(
                f"charger {self.charger_id} did not connect within {timeout_s} s; check its "
                "CSMS URL, identity and password"
            ) from exc

    def spawn(self, coro: Coroutine[Any, Any, None], key: str | None = None) -> None:
        """Run `coro` beside the receive loop (never await a call inside a handler); its
        failure, if any, becomes one log line (never "Task exception was never retrieved").

        With a `key`, at most one such task runs at a time: while one is running, a new one is
        dropped (a charger sending BootNotification in a loop must not pile up requests)."""
        if key is not None:
            running = self._keyed.get(key)
            if running is not None and not running.done():
                coro.close()
                return
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        if key is not None:
            self._keyed[key] = task
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        for key, keyed in list(self._keyed.items()):
            if keyed is task:
                del self._keyed[key]
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, ConnectionClosed | ChargerUnavailable):
            LOGGER.warning("%s: background request failed: %r", self.charger_id, error)

    async def cancel_tasks(self) -> None:
        """Cancel the background requests and wait until they are gone (shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def info(self) -> ChargerInfo:
        """Summary for listings."""
        return ChargerInfo(
            charger_id=self.charger_id,
            version=self.version or "",
            remote_address=self.remote_address,
            vendor=self.vendor,
            model=self.model,
            transaction_id=None if self.transaction_id is None else str(self.transaction_id),
            connected_since_s=self.connected_since_s,
        )

    def new_transaction_number(self) -> int:
        """Next 1.6 transaction id (the CSMS assigns them)."""
        return next(self._transaction_numbers)

    def record_unmatched_result(self, count: int) -> None:
        """A CALLRESULT/CALLERROR that answers no call in flight was dropped (`count` so far on
        this connection)."""
        self._record(self.charger_id, "unmatched_result", f"{count} dropped on this connection")

    def record_protocol_error(self, detail: str) -> None:
        """A frame or request of this charger was answered with a CALLERROR."""
        self._record(self.charger_id, "protocol_error", detail)

    def record_security_event(self, kind: str) -> None:
        """SecurityEventNotification received."""
        self._record(self.charger_id, "security_event", kind)

    # -- inbound --------------------------------------------------------------------------

    def on_boot(self, vendor: str, model: str) -> None:
        self.vendor = vendor
        self.model = model
        self._record(self.charger_id, "boot", f"{vendor} {model} (OCPP {self.version})")

    def on_connector_status(self, status: str) -> None:
        self.connector_status = status

    def on_transaction_started(self, transaction_id: int | str) -> None:
        self.transaction_id = transaction_id
        self._record(self.charger_id, "transaction_started", str(transaction_id))

    def on_transaction_ended(self) -> None:
        if self.transaction_id is not None:
            self._record(self.charger_id, "transaction_ended", str(self.transaction_id))
        self.transaction_id = None
        self.charging_state = None

    def on_charging_state(self, state: str | None) -> None:
        if state is not None:
            self.charging_state = state

    def on_meter_values(self, meter_value: list[dict] | None) -> MeterSample | None:
        """Merge a MeterValues sample into the latest known values (a non-finite value is left
        out and recorded as an `implausible` event)."""
        bad = non_finite_measurands(meter_value)
        if bad:
            self._record(self.charger_id, "implausible", "not finite: " + ", ".join(bad))
        sample = parse_meter_values(meter_value)
        if sample is None:
            return None
        if sample.power_kw is not None:
            self.power_kw = sample.power_kw
        if sample.energy_kwh is not None:
            self.energy_kwh = sample.energy_kwh
        if sample.soc is not None:
            self.soc = sample.soc
        self.sample_time_s = self._clock()
        self.meter_samples += 1
        return sample

    def on_charging_needs(self, charging_needs: dict) -> None:
        """Learn from NotifyEVChargingNeeds whether the EV can discharge (BPT modes), and its
        departure time and the energy it asks for (`ev_needs`): the EMS plans the session on
        what the EV says, not on the model's guess. Values that cannot be a plan (no zone,
        not finite, > 1,000 kWh) are left out and recorded as an `implausible` event."""
        modes = [charging_needs.get("requested_energy_transfer") or ""]
        modes += charging_needs.get("available_energy_transfer") or []
        self.ev_bidirectional = any("BPT" in str(mode) for mode in modes)
        needs = ev_needs_from(charging_needs)
        if needs.problem:
            self._record(self.charger_id, "implausible", f"NotifyEVChargingNeeds: {needs.problem}")
        if needs.departure_unix_s is not None or needs.energy_kwh is not None:
            self.ev_needs = needs
            self.ev_needs_seq += 1

    # -- derived --------------------------------------------------------------------------

    @property
    def can_discharge(self) -> bool:
        """Discharge possible: configured so, or OCPP 2.1 with an EV reporting a BPT mode."""
        if self.auth.can_discharge is not None:
            return self.auth.can_discharge
        return self.version == "2.1" and bool(self.ev_bidirectional)

    def status(self) -> ChargerStatus:
        """Coarse state from the link, the connector status and the measured power."""
        if not self.online:
            return ChargerStatus.OFFLINE
        status = self.connector_status or ""
        if status in ("Faulted", "Unavailable"):
            return ChargerStatus.FAULTED
        if self.power_kw > _IDLE_THRESHOLD_KW:
            return ChargerStatus.CHARGING
        if self.power_kw < -_IDLE_THRESHOLD_KW:
            return ChargerStatus.DISCHARGING
        if status.startswith("Suspended") or (self.charging_state or "").startswith("Suspended"):
            return ChargerStatus.SUSPENDED
        if status == "Available" and self.transaction_id is None:
            return ChargerStatus.AVAILABLE
        return ChargerStatus.PLUGGED

    # -- outbound -------------------------------------------------------------------------

    async def apply_setpoint(self, power_kw: float) -> None:
        """Remember `power_kw` as the target and send it as a charging profile.

        Raises:
            ChargerUnavailable: not connected, connection lost, or no answer in time.
            SetpointRejected: discharge asked where impossible, or status not Accepted.
            SetpointCallError: the charger answered with a CALLERROR.
        """
        if setpoint.shape_w(power_kw) < 0 and not self.can_discharge:
            raise SetpointRejected(
                f"{self.charger_id}: {power_kw:.3f} kW asked but discharge is not possible "
                f"(OCPP {self.version or '?'}, EV bidirectional: {self.ev_bidirectional})"
            )
        self.target_kw = power_kw
        async with self._command_lock:
            await self._send_setpoint(power_kw)

    async def resync(self, reason: str) -> None:
        """Re-send the target set-point, if any, and record the outcome as events."""
        if self.target_kw is None:
            return
        power_kw = self.target_kw
        try:
            async with self._command_lock:
                await self._send_setpoint(power_kw)
        except (SetpointRejected, ChargerUnavailable) as exc:
            LOGGER.info("%s: re-sync (%s) failed: %s", self.charger_id, reason, exc)
            return
        self._record(self.charger_id, "resync", f"{power_kw:.3f} kW after {reason}")

    async def configure_metering(self) -> None:
        """Ask for the twin's measurands at the configured interval (events on refusal)."""
        cp = self.cp
        if cp is None:
            return
        try:
            if self.version == "1.6":
                for request in charging_profiles.meter_config_v16(self._meter_interval_s):
                    result = await self._call(request)
                    if result.status != "Accepted":
                        self._record(
                            self.charger_id, "config_rejected", f"{request.key}: {result.status}"
                        )
            else:
                module = call21 if self.version == "2.1" else call201
                result = await self._call(
                    charging_profiles.meter_config_2x(module, self._meter_interval_s)
                )
                for entry in result.set_variable_result:
                    if entry["attribute_status"] != "Accepted":
                        self._record(
                            self.charger_id,
                            "config_rejected",
                            f"{entry['variable']['name']}: {entry['attribute_status']}",
                        )
        except OCPPError as exc:
            self._record(self.charger_id, "callerror", f"meter configuration: {exc.code}")
        except TimeoutError as exc:
            self._record(self.charger_id, "timeout", f"meter configuration: {exc}")
        except ChargerUnavailable:
            return  # the disconnect is recorded by the central system
        if self.cp is cp:
            self.metering_configured = True

    async def clear_setpoint(self) -> None:
        """Forget the target and remove the twin's profile from the charger (best effort)."""
        self.target_kw = None
        cp = self.cp
        if cp is None:
            return
        request = {
            "1.6": charging_profiles.clear_v16,
            "2.0.1": charging_profiles.clear_v201,
            "2.1": charging_profiles.clear_v21,
        }[self.version or "1.6"]()
        with contextlib.suppress(OCPPError, TimeoutError, ChargerUnavailable):
            async with self._command_lock:
                await self._call(request)

    async def _call(self, request: Any) -> Any:
        """`cp.call` that fails at once when the connection drops instead of timing out.

        Raises:
            ChargerUnavailable: not connected, or the connection closed before the answer.
            OCPPError: CALLERROR answer (or an answer that violates the schema).
            TimeoutError: no answer within the response timeout.
        """
        cp, websocket = self.cp, self.websocket
        if cp is None or websocket is None:
            raise ChargerUnavailable(f"charger {self.charger_id} is not connected")
        call_task = asyncio.ensure_future(cp.call(request, suppress=False))
        # If this coroutine is cancelled while the call fails (a connection closing under a
        # shutdown), nobody reads the call's exception: mark it read ("never retrieved").
        call_task.add_done_callback(_retrieve_exception)
        closed_task = asyncio.ensure_future(websocket.wait_closed())
        try:
            done, _ = await asyncio.wait(
                {call_task, closed_task}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closed_task.cancel()
            if not call_task.done():
                call_task.cancel()
        if call_task in done and call_task.cancelled():
            # The connection closed and its calls in flight were cancelled (detach): that is a
            # lost link for the caller, not a cancel of the caller itself.
            raise ChargerUnavailable(f"{self.charger_id}: connection closed before the answer")
        if call_task in done:
            try:
                return call_task.result()
            except ConnectionClosed as exc:
                raise ChargerUnavailable(f"{self.charger_id}: connection closed") from exc
        raise ChargerUnavailable(f"{self.charger_id}: connection closed before the answer")

    async def _send_setpoint(self, power_kw: float) -> None:
        if self.cp is None:
            raise ChargerUnavailable(f"charger {self.charger_id} is not connected")
        if self.version == "1.6":
            transaction_id = self.transaction_id if isinstance(self.transaction_id, int) else None
            request = charging_profiles.set_power_v16(power_kw, self.connector_id, transaction_id)
        else:
            build = (
                charging_profiles.set_power_v21
                if self.version == "2.1"
                else charging_profiles.set_power_v201
            )
            transaction_id = None if self.transaction_id is None else str(self.transaction_id)
            request = build(power_kw, self.connector_id, transaction_id)
        try:
            result = await self._call(request)
        except OCPPError as exc:
            self._record(self.charger_id, "callerror", f"SetChargingProfile: {exc.code}")
            raise SetpointCallError(
                f"{self.charger_id}: SetChargingProfile answered with CALLERROR {exc.code} "
                f"({exc.description})",
                error_code=exc.code,
            ) from exc
        except TimeoutError as exc:
            self._record(self.charger_id, "timeout", "SetChargingProfile")
            raise ChargerUnavailable(
                f"{self.charger_id}: no answer to SetChargingProfile in time"
            ) from exc
        if result.status != "Accepted":
            self._record(self.charger_id, "rejected", f"SetChargingProfile: {result.status}")
            raise SetpointRejected(
                f"{self.charger_id}: SetChargingProfile {power_kw:.3f} kW answered {result.status}"
            )
