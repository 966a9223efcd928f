"""An OCPP charge point emulator (a real websocket client) with an EV behind it.

It boots, starts a transaction, honours the charging profiles it receives (limit or 2.1
set-point, followed with a first-order lag by the EV model), and reports meter values at the
interval the CSMS configures: 1.6 MeterValues; 2.x TransactionEvent(Updated) with meterValue.
On 2.1 it follows LocalFrequency (its own frequency) and CentralFrequency (the CSMS's
AFRRSignal requests along the profile's v2xSignalWattCurve) profiles. Its clock may run faster
than the wall (`time_scale`), so a test covers minutes of charger time in seconds.
For fault tests it can drop its connection, reconnect (without rebooting, like a real
charger after a network outage), reject profiles or answer them with a CALLERROR.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp import exceptions as ocpp_exceptions
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from adapters.base import AdapterError
from adapters.ocpp.charge_points import utc_now_iso
from adapters.ocpp.meter_values import (
    ENERGY_EXPORT,
    ENERGY_IMPORT,
    POWER_EXPORT,
    POWER_IMPORT,
    SOC,
)
from adapters.simulated import SimulatedCharger
from adapters.testing.ocpp.received_profiles import ReceivedProfiles

LOGGER = logging.getLogger(__name__)

VERSIONS = ("1.6", "2.0.1", "2.1")
_DEFAULT_MEASURANDS = (ENERGY_IMPORT,)  # OCPP default until the CSMS configures more
_CALL_ERRORS = {
    "NotSupported": ocpp_exceptions.NotSupportedError,
    "NotImplemented": ocpp_exceptions.NotImplementedError,
    "InternalError": ocpp_exceptions.InternalError,
    "FormatViolation": ocpp_exceptions.FormatViolationError,
    "ProtocolError": ocpp_exceptions.ProtocolError,
    "GenericError": ocpp_exceptions.GenericError,
}


class EmulatorError(AdapterError):
    """The emulator could not do what it was asked (message says why)."""


@dataclass
class EmulatorConfig:
    """Charge point + EV parameters of one emulator.

    Attributes:
        url: CSMS base URL (ws:// or wss://); the identity is appended as the last segment.
        charger_id: OCPP identity.
        version: "1.6", "2.0.1" or "2.1".
        password: HTTP Basic password (user = identity), or None.
        ssl_context: client TLS context for wss:// (e.g. trusting the test CA).
        max_power_kw: EV/charger maximum charging power, kW.
        can_discharge: the EV can discharge (honoured on 2.1 only).
        battery_kwh: EV usable battery, kWh.
        soc_initial: EV state of charge at plug-in, 0..1.
        time_constant_s: first-order response of the EV to a new limit, s.
        meter_interval_s: meter interval until the CSMS configures one, s.
        response_timeout_s: time the CSMS has to answer the emulator's requests, s.
        vendor: BootNotification vendor.
        model: BootNotification model.
        extra_headers: further HTTP headers of the websocket handshake.
        time_scale: the emulator's clock runs this many times faster than the wall: the EV's
            lag, energy, schedules and the meter interval are in its seconds (protocol
            timestamps and response timeouts stay on the wall clock).
    """

    url: str
    charger_id: str
    version: str = "1.6"
    password: str | None = None
    ssl_context: ssl.SSLContext | None = None
    max_power_kw: float = 11.0
    can_discharge: bool = False
    battery_kwh: float = 60.0
    soc_initial: float = 0.5
    time_constant_s: float = 1.0
    meter_interval_s: float = 10.0
    response_timeout_s: float = 10.0
    vendor: str = "EvFleetTwin"
    model: str = "Emulator"
    extra_headers: dict[str, str] = field(default_factory=dict)
    time_scale: float = 1.0
    departure_in_s: float | None = None
    """The EV's departure, wall seconds after it plugs in (sent in NotifyEVChargingNeeds)."""
    energy_request_kwh: float | None = None
    """The energy the EV asks for (NotifyEVChargingNeeds, AC `energy_amount`)."""

    def validate(self) -> None:
        """Raises EmulatorError naming each wrong setting."""
        problems = []
        if self.version not in VERSIONS:
            problems.append(f"version must be one of {VERSIONS} (got {self.version!r})")
        if not self.url.startswith(("ws://", "wss://")):
            problems.append(f"url must start with ws:// or wss:// (got {self.url!r})")
        if self.url.startswith("ws://") and self.ssl_context is not None:
            problems.append("an ssl_context needs a wss:// url")
        if not self.charger_id:
            problems.append("charger_id must not be empty")
        if not self.max_power_kw > 0:
            problems.append("max_power_kw must be > 0")
        if not self.meter_interval_s > 0:
            problems.append("meter_interval_s must be > 0")
        if not 0 < self.time_scale < float("inf"):
            problems.append("time_scale must be a finite number > 0")
        if problems:
            raise EmulatorError("emulator configuration: " + "; ".join(problems))


class ChargePointEmulator:
    """One emulated charge point with one connector/EVSE (id 1) and an EV plugged in.

    Fault injection (change at any time): `reject_profiles` answers SetChargingProfile with
    status Rejected; `profile_call_error` (e.g. "NotSupported") answers it with that CALLERROR;
    `meter_power_kw` (not None) is reported as the measured power instead of the EV's (a broken
    meter or firmware: -1e9 kW, 1e308 kW).
    """

    def __init__(self, config: EmulatorConfig) -> None:
        config.validate()
        self.config = config
        self.version = config.version
        self.profiles = ReceivedProfiles()
        self.reject_profiles = False
        self.meter_power_kw: float | None = None
        self.frequency_hz = 50.0
        """The grid frequency this charger measures (LocalFrequency profiles follow it)."""
        self.profile_call_error: str | None = None
        self.configuration: dict[str, str] = {}
        self.meter_interval_s = float(config.meter_interval_s)
        self.measurands: tuple[str, ...] = _DEFAULT_MEASURANDS
        self.meter_reports_sent = 0
        self.transaction_id: int | str | None = None
        self.afrr_signal: int | None = None
        """The AFRRSignal value in force (CentralFrequency profiles follow it), or None."""
        self._afrr_active_at: datetime | None = None
        self._loop_clock: Callable[[], float] = _scaled_monotonic(config.time_scale)
        can_discharge = config.can_discharge and config.version == "2.1"
        self.ev = SimulatedCharger(
            config.charger_id,
            max_charge_kw=config.max_power_kw,
            clock=self._loop_clock,
            max_discharge_kw=config.max_power_kw if can_discharge else 0.0,
            time_constant_s=config.time_constant_s,
            battery_kwh=config.battery_kwh,
            soc_initial=config.soc_initial,
        )
        self._import_wh = 0.0
        self._export_wh = 0.0
        self._last_energy_kwh = 0.0
        self._seq_no = 0
        self._websocket: ClientConnection | None = None
        self._cp: Any = None
        self._receive_task: asyncio.Task | None = None
        self._meter_task: asyncio.Task | None = None
        self._wake_meter = asyncio.Event()
        self._disconnected = asyncio.Event()

    # -- state ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the websocket is open."""
        return self._cp is not None

    @property
    def power_kw(self) -> float:
        """EV power now, kW (+ charge / - discharge)."""
        return self.ev.reading().power_kw

    @property
    def target_kw(self) -> float:
        """Power the held profiles allow now (the EV ramps towards it), kW."""
        return self.ev.setpoint_kw

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, boot, plug the EV in and start a transaction.

        Raises:
            EmulatorError: refused at the handshake, boot not accepted, or no answer.
        """
        await self.ev.connect()
        self._update_target()
        await self._connect()
        try:
            await self._boot()
            await self._start_transaction()
        except (TimeoutError, ConnectionClosed, ocpp_exceptions.OCPPError) as exc:
            await self.close()
            raise EmulatorError(f"{self.config.charger_id}: start-up failed: {exc}") from exc
        self._meter_task = asyncio.get_running_loop().create_task(self._meter_loop())

    async def stop_transaction(self) -> None:
        """End the transaction (StopTransaction / TransactionEvent Ended)."""
        if self.transaction_id is None or self._cp is None:
            return
        self._sample_registers()
        if self.version == "1.6":
            await self._cp.call(
                call16.StopTransaction(
                    meter_stop=int(self._import_wh),
                    timestamp=utc_now_iso(),
                    transaction_id=int(self.transaction_id),
                    reason="Local",
                )
            )
            await self._status_16("Finishing")
        else:
            await self._transaction_event("Ended", "StopAuthorized", stopped_reason="Local")
        self.transaction_id = None
        self.profiles.end_transaction()
        self._update_target()

    async def close(self) -> None:
        """Stop reporting and close the websocket (transaction left as is)."""
        if self._meter_task is not None:
            self._meter_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._meter_task
            self._meter_task = None
        await self._close_socket()

    async def stop(self) -> None:
        """End the transaction, then close (a clean shutdown)."""
        with contextlib.suppress(TimeoutError, ConnectionClosed, ocpp_exceptions.OCPPError):
            await self.stop_transaction()
        await self.close()

    async def drop_connection(self) -> None:
        """Lose the connection abruptly (no close handshake), as on a network failure."""
        websocket = self._websocket
        if websocket is not None:
            websocket.transport.abort()
        await self._wait_receive_end()

    async def reconnect(self) -> None:
        """Connect again without rebooting and say hello with a Heartbeat."""
        await self._connect()
        await self._cp.call(self._calls().Heartbeat())
        self._wake_meter.set()

    async def wait_disconnected(self) -> None:
        """Return when the connection is lost (or closed)."""
        await self._disconnected.wait()

    # -- protocol -------------------------------------------------------------------------

    def _calls(self) -> Any:
        return {"1.6": call16, "2.0.1": call201, "2.1": call21}[self.version]

    async def _connect(self) -> None:
        headers = dict(self.config.extra_headers)
        if self.config.password is not None:
            token = f"{self.config.charger_id}:{self.config.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        url = f"{self.config.url.rstrip('/')}/{self.config.charger_id}"
        try:
            websocket = await connect(
                url,
                subprotocols=[f"ocpp{self.version}"],
                additional_headers=headers,
                ssl=self.config.ssl_context,
                open_timeout=self.config.response_timeout_s,
                proxy=None,
                compression=None,
            )
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            raise EmulatorError(
                f"{self.config.charger_id}: cannot connect to {url}: {exc}"
            ) from exc
        cp_class = {"1.6": _Emulated16, "2.0.1": _Emulated201, "2.1": _Emulated21}[self.version]
        cp = cp_class(self.config.charger_id, websocket, self.config.response_timeout_s)
        cp.emulator = self
        self._websocket = websocket
        self._cp = cp
        self._disconnected.clear()
        self._receive_task = asyncio.get_running_loop().create_task(self._receive(cp))

    async def _receive(self, cp: Any) -> None:
        try:
            await cp.start()
        except ConnectionClosed:
            pass
        finally:
            if self._cp is cp:
                self._cp = None
                self._websocket = None
                self._disconnected.set()

    async def _wait_receive_end(self) -> None:
        task = self._receive_task
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), 5.0)

    async def _close_socket(self) -> None:
        websocket = self._websocket
        if websocket is not None:
            await websocket.close()
        await self._wait_receive_end()

    async def _boot(self) -> None:
        if self.version == "1.6":
            request = call16.BootNotification(
                charge_point_model=self.config.model, charge_point_vendor=self.config.vendor
            )
        else:
            request = self._calls().BootNotification(
                charging_station={"model": self.config.model, "vendor_name": self.config.vendor},
                reason="PowerUp",
            )
        result = await self._cp.call(request, suppress=False)
        if result.status != "Accepted":
            raise EmulatorError(f"{self.config.charger_id}: BootNotification {result.status}")

    async def _status_16(self, status: str) -> None:
        await self._cp.call(
            call16.StatusNotification(connector_id=1, error_code="NoError", status=status)
        )

    async def _start_transaction(self) -> None:
        if self.version == "1.6":
            await self._status_16("Preparing")
            result = await self._cp.call(
                call16.StartTransaction(
                    connector_id=1, id_tag="TWIN", meter_start=0, timestamp=utc_now_iso()
                ),
                suppress=False,
            )
            self.transaction_id = result.transaction_id
            await self._status_16("Charging")
            return
        await self._cp.call(
            self._calls().StatusNotification(
                timestamp=utc_now_iso(), connector_status="Occupied", evse_id=1, connector_id=1
            )
        )
        self.transaction_id = uuid.uuid4().hex
        self._seq_no = 0
        await self._transaction_event("Started", "CablePluggedIn", with_token=True)
        if self.version == "2.1" and self.config.can_discharge:
            needs = {
                "requested_energy_transfer": "AC_BPT",
                "available_energy_transfer": ["AC_three_phase", "AC_BPT"],
            }
        else:
            needs = {"requested_energy_transfer": "AC_three_phase"}
        if self.config.departure_in_s is not None:
            departure = datetime.now(UTC) + timedelta(seconds=self.config.departure_in_s)
            needs["departure_time"] = departure.isoformat()
        if self.config.energy_request_kwh is not None:
            needs["ac_charging_parameters"] = {
                "energy_amount": self.config.energy_request_kwh * 1000.0,
                "ev_min_current": 6.0,
                "ev_max_current": 16.0,
                "ev_max_voltage": 400.0,
            }
        await self._cp.call(self._calls().NotifyEVChargingNeeds(charging_needs=needs, evse_id=1))

    async def _transaction_event(
        self,
        event_type: str,
        trigger_reason: str,
        *,
        with_token: bool = False,
        stopped_reason: str | None = None,
        meter_value: list[dict] | None = None,
    ) -> None:
        power_kw = self.ev.reading().power_kw
        info: dict = {
            "transaction_id": str(self.transaction_id),
            "charging_state": "Charging" if abs(power_kw) > 0.05 else "SuspendedEVSE",
        }
        if stopped_reason is not None:
            info["stopped_reason"] = stopped_reason
        request = self._calls().TransactionEvent(
            event_type=event_type,
            timestamp=utc_now_iso(),
            trigger_reason=trigger_reason,
            seq_no=self._seq_no,
            transaction_info=info,
            evse={"id": 1, "connector_id": 1} if event_type == "Started" else None,
            id_token={"id_token": "TWIN", "type": "Central"} if with_token else None,
            meter_value=meter_value,
        )
        self._seq_no += 1
        await self._cp.call(request)

    # -- profiles and configuration (called by the handler classes) -----------------------

    def accept_profile(self, profile: dict) -> str:
        """Install a received profile; returns the status to answer."""
        if self.profile_call_error is not None:
            error_class = _CALL_ERRORS.get(self.profile_call_error, ocpp_exceptions.GenericError)
            raise error_class(description="fault injected by the emulator")
        if self.reject_profiles:
            return "Rejected"
        purpose = profile.get("charging_profile_purpose")
        if purpose == "TxProfile" and (
            self.transaction_id is None
            or str(profile.get("transaction_id")) != str(self.transaction_id)
        ):
            return "Rejected"  # a TxProfile needs the active transaction
        try:
            self.profiles.install(profile, self._loop_clock(), self.version)
        except (KeyError, ValueError, TypeError):
            return "Rejected"
        self._update_target()
        return "Accepted"

    def clear_profiles(self, profile_id: int | None, purpose: str | None) -> str:
        removed = self.profiles.clear(profile_id, purpose)
        self._update_target()
        return "Accepted" if removed else "Unknown"

    def set_configuration(self, key: str, value: str) -> str:
        """Apply a 1.6 configuration key / 2.x SampledDataCtrlr variable; returns a status."""
        if key in ("MeterValueSampleInterval", "TxUpdatedInterval"):
            try:
                interval_s = float(value)
            except ValueError:
                return "Rejected"
            if interval_s <= 0:
                return "Rejected"
            self.meter_interval_s = interval_s
            self._wake_meter.set()
        elif key in ("MeterValuesSampledData", "TxUpdatedMeasurands"):
            measurands = tuple(m.strip() for m in value.split(",") if m.strip())
            self.measurands = measurands or _DEFAULT_MEASURANDS
        else:
            return "NotSupported" if self.version == "1.6" else "UnknownVariable"
        self.configuration[key] = value
        return "Accepted"

    def set_frequency(self, frequency_hz: float) -> None:
        """The grid frequency changes (as the charger measures it): a LocalFrequency profile
        moves the power along its curve at once, with no message from the CSMS."""
        self.frequency_hz = float(frequency_hz)
        self._update_target()

    def receive_afrr_signal(self, timestamp: str, signal: int) -> str:
        """An AFRRSignal request: Accepted in CentralFrequency mode (the signal comes in force at
        `timestamp`, at once when that is not in the future), else Rejected.

        Raises:
            FormatViolationError: `timestamp` is not an ISO 8601 date-time (the schema's
                format, which the JSON schema check leaves to the receiver).
            TypeConstraintViolationError: `signal` is not an integer (schema checks skipped).
        """
        if isinstance(signal, bool) or not isinstance(signal, int):
            raise ocpp_exceptions.TypeConstraintViolationError(
                description=f"signal must be an integer, got {signal!r}"
            )
        active_at = _parse_timestamp(timestamp)
        if self.profiles.operation_mode(self._loop_clock()) != "CentralFrequency":
            return "Rejected"
        delay_s = (active_at - datetime.now(UTC)).total_seconds()
        if delay_s > 0:
            asyncio.get_running_loop().call_later(
                delay_s, self._apply_afrr_signal, signal, active_at
            )
        else:
            self._apply_afrr_signal(signal, active_at)
        return "Accepted"

    def _apply_afrr_signal(self, signal: int, active_at: datetime) -> None:
        # Signals can overtake each other (a future one scheduled, a later one at once): the
        # one that came in force last wins.
        if self._afrr_active_at is not None and active_at < self._afrr_active_at:
            return
        self._afrr_active_at = active_at
        self.afrr_signal = signal
        self._update_target()

    def _update_target(self) -> None:
        """Set the EV model's set-point from the held profiles."""
        limit_kw = self.profiles.allowed_kw(
            self._loop_clock(), self.config.max_power_kw, self.frequency_hz, self.afrr_signal
        )
        floor_kw = -self.config.max_power_kw if self.ev.can_discharge else 0.0
        self.ev.command(min(max(limit_kw, floor_kw), self.config.max_power_kw))

    # -- metering -------------------------------------------------------------------------

    def _sample_registers(self) -> float:
        """Advance import/export registers from the EV model; returns the power, kW."""
        reading = self.ev.reading()
        delta_kwh = reading.energy_kwh - self._last_energy_kwh
        self._last_energy_kwh = reading.energy_kwh
        if delta_kwh >= 0:
            self._import_wh += delta_kwh * 1000.0
        else:
            self._export_wh -= delta_kwh * 1000.0
        return reading.power_kw

    def meter_value(self) -> list[dict]:
        """One meterValue entry with the configured measurands (snake_case keys)."""
        power_kw = self._sample_registers()
        if self.meter_power_kw is not None:
            power_kw = self.meter_power_kw
        soc = self.ev.reading().soc
        values = {
            POWER_IMPORT: (max(power_kw, 0.0) * 1000.0, "W", "Outlet"),
            POWER_EXPORT: (max(-power_kw, 0.0) * 1000.0, "W", "Outlet"),
            ENERGY_IMPORT: (self._import_wh, "Wh", "Outlet"),
            ENERGY_EXPORT: (self._export_wh, "Wh", "Outlet"),
            SOC: (0.0 if soc is None else soc * 100.0, "Percent", "EV"),
        }
        sampled = []
        for measurand in self.measurands:
            if measurand not in values:
                continue
            value, unit, location = values[measurand]
            entry: dict = {
                "measurand": measurand,
                "context": "Sample.Periodic",
                "location": location,
            }
            if self.version == "1.6":
                entry.update(value=f"{value:.1f}", unit=unit)
            else:
                entry.update(value=round(value, 1), unit_of_measure={"unit": unit})
            sampled.append(entry)
        return [{"timestamp": utc_now_iso(), "sampled_value": sampled}]

    async def _meter_loop(self) -> None:
        while True:
            self._wake_meter.clear()
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the stop's cancel.
                async with asyncio.timeout(self.meter_interval_s / self.config.time_scale):
                    await self._wake_meter.wait()
            # Multi-period schedules move on with time.
            self._update_target()
            if self._cp is None or self.transaction_id is None:
                continue
            try:
                await self._send_meter_values()
            except (ConnectionClosed, TimeoutError, ocpp_exceptions.OCPPError) as exc:
                LOGGER.info("%s: meter values not delivered: %s", self.config.charger_id, exc)

    async def _send_meter_values(self) -> None:
        meter_value = self.meter_value()
        if self.version == "1.6":
            await self._cp.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=int(self.transaction_id),
                    meter_value=meter_value,
                )
            )
        else:
            await self._transaction_event("Updated", "MeterValuePeriodic", meter_value=meter_value)
        self.meter_reports_sent += 1


# -- handler classes (charge point side) -----------------------------------------------------


class _Emulated16(ChargePoint16):
    emulator: ChargePointEmulator

    def __init__(self, charger_id: str, connection: Any, response_timeout_s: float) -> None:
        super().__init__(charger_id, connection, response_timeout=response_timeout_s)

    @on("SetChargingProfile")
    def on_set_charging_profile_emu16(
        self, connector_id: int, cs_charging_profiles: dict, **kwargs: Any
    ) -> result16.SetChargingProfile:
        return result16.SetChargingProfile(
            status=self.emulator.accept_profile(cs_charging_profiles)
        )

    @on("ClearChargingProfile")
    def on_clear_charging_profile_emu16(self, **kwargs: Any) -> result16.ClearChargingProfile:
        status = self.emulator.clear_profiles(
            kwargs.get("id"), kwargs.get("charging_profile_purpose")
        )
        return result16.ClearChargingProfile(status=status)

    @on("ChangeConfiguration")
    def on_change_configuration_emu16(
        self, key: str, value: str, **kwargs: Any
    ) -> result16.ChangeConfiguration:
        return result16.ChangeConfiguration(status=self.emulator.set_configuration(key, value))

    @on("GetConfiguration")
    def on_get_configuration_emu16(self, **kwargs: Any) -> result16.GetConfiguration:
        keys = [
            {"key": key, "readonly": False, "value": value}
            for key, value in self.emulator.configuration.items()
        ]
        return result16.GetConfiguration(configuration_key=keys)


class _Emulated2x:
    emulator: ChargePointEmulator
    _call_result: Any

    def __init__(self, charger_id: str, connection: Any, response_timeout_s: float) -> None:
        super().__init__(charger_id, connection, response_timeout=response_timeout_s)

    @on("SetChargingProfile")
    def on_set_charging_profile_emu2x(
        self, evse_id: int, charging_profile: dict, **kwargs: Any
    ) -> Any:
        return self._call_result.SetChargingProfile(
            status=self.emulator.accept_profile(charging_profile)
        )

    @on("ClearChargingProfile")
    def on_clear_charging_profile_emu2x(self, **kwargs: Any) -> Any:
        criteria = kwargs.get("charging_profile_criteria") or {}
        status = self.emulator.clear_profiles(
            kwargs.get("charging_profile_id"), criteria.get("charging_profile_purpose")
        )
        return self._call_result.ClearChargingProfile(status=status)

    @on("SetVariables")
    def on_set_variables_emu2x(self, set_variable_data: list[dict], **kwargs: Any) -> Any:
        results = []
        for item in set_variable_data:
            component, variable = item["component"], item["variable"]
            if component["name"] == "SampledDataCtrlr":
                status = self.emulator.set_configuration(variable["name"], item["attribute_value"])
            else:
                status = "UnknownComponent"
            results.append(
                {"attribute_status": status, "component": component, "variable": variable}
            )
        return self._call_result.SetVariables(set_variable_result=results)


class _Emulated201(_Emulated2x, ChargePoint201):
    _call_result = result201


class _Emulated21(_Emulated2x, ChargePoint21):
    _call_result = result21

    @on("AFRRSignal")
    def on_afrr_signal_emu21(self, timestamp: str, signal: int, **kwargs: Any) -> Any:
        return result21.AFRRSignal(status=self.emulator.receive_afrr_signal(timestamp, signal))


def _scaled_monotonic(time_scale: float) -> Callable[[], float]:
    """A monotonic clock running `time_scale` times as fast as the wall (from now on)."""
    if time_scale == 1.0:
        return time.monotonic
    origin_s = time.monotonic()
    return lambda: origin_s + (time.monotonic() - origin_s) * time_scale


def _parse_timestamp(text: str) -> datetime:
    """An OCPP date-time as an aware UTC datetime (naive = UTC)."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ocpp_exceptions.FormatViolationError(
            description=f"timestamp is not an ISO 8601 date-time: {text!r}"
        ) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def run_emulator(
    url: str,
    charger_id: str,
    version: str = "1.6",
    password: str | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    print_line: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
    retry_delay_s: float = 2.0,
    **ev_settings: Any,
) -> None:
    """Run one emulated charge point until cancelled or `stop` is set; reconnect when the
    CSMS goes away - the `twin emulate ocpp` command.

    Args:
        url: CSMS base URL, e.g. ws://127.0.0.1:9000/ocpp.
        charger_id: identity.
        version: "1.6", "2.0.1" or "2.1".
        password: HTTP Basic password, if the CSMS asks for one.
        ssl_context: TLS context for wss://.
        print_line: where status lines go.
        stop: optional event that ends the run.
        retry_delay_s: pause before reconnecting, s (doubles up to 30 s).
        **ev_settings: further `EmulatorConfig` fields (max_power_kw, battery_kwh, ...).
    """
    config = EmulatorConfig(
        url=url,
        charger_id=charger_id,
        version=version,
        password=password,
        ssl_context=ssl_context,
        **ev_settings,
    )
    emulator = ChargePointEmulator(config)
    stop = stop or asyncio.Event()
    delay_s = retry_delay_s
    started = False
    try:
        while not stop.is_set():
            try:
                if not started:
                    await emulator.start()
                    started = True
                else:
                    await emulator.reconnect()
            except (EmulatorError, TimeoutError, ConnectionClosed) as exc:
                print_line(f"{exc}; retrying in {delay_s:.1f} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay_s)
                delay_s = min(delay_s * 2, 30.0)
                continue
            delay_s = retry_delay_s
            print_line(
                f"{charger_id}: connected (OCPP {version}), transaction {emulator.transaction_id}"
            )
            lost = asyncio.ensure_future(emulator.wait_disconnected())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({lost, stopped}, return_when=asyncio.FIRST_COMPLETED)
            lost.cancel()
            stopped.cancel()
            if not stop.is_set():
                print_line(f"{charger_id}: connection lost; reconnecting")
    finally:
        await emulator.stop()
        print_line(f"{charger_id}: stopped")
