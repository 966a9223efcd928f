"""CSMS-side handlers of one charger connection, one class per OCPP version.

Rules followed here (see HARDWARE_NOTES): handlers never await `call` (outbound requests run
in tasks spawned from `@after` hooks), every handler keeps `**kwargs`, and every action a
charger may send is answered - also malformed frames and unknown actions, with a CALLERROR,
because the `ocpp` library silently drops the former and (for 2.1) the latter.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

from ocpp.exceptions import (
    FormatViolationError,
    NotSupportedError,
    OCPPError,
    ProtocolError,
)
from ocpp.exceptions import (
    NotImplementedError as OcppNotImplementedError,
)
from ocpp.messages import Call, CallError, MessageType, unpack
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21.enums import Action as Action21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201.enums import Action as Action201

from adapters.ocpp.guard import OneLineFilter, TokenBucket, safe_text
from adapters.ocpp.session import ChargerSession

LOGGER = logging.getLogger(__name__)


WIRE_LOGGER = logging.getLogger("adapters.ocpp.wire")
"""Logger handed to the `ocpp` library's ChargePoint (instead of its 'ocpp' logger)."""
WIRE_LOGGER.addFilter(OneLineFilter())

# 1.6 spells two error codes differently from the library (and from 2.x).
_CODES_V16 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}


def utc_now_iso() -> str:
    """Protocol timestamp (wall clock, UTC, ISO 8601 with Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _RobustRpc:
    """Replaces `ocpp.ChargePoint.route_message` so every bad frame gets an answer, and the
    library's unbounded response queue by one waiter per outstanding call.

    The library puts every CALLRESULT/CALLERROR on an `asyncio.Queue` that only `call()` reads:
    a charger sending results nobody asked for grew it without bound (2,500 frames of 250 KB:
    +600 MB). Here a result is kept only if its unique id is that of a call in flight (and only
    the first one); any other is dropped and counted in `unmatched_results`.
    """

    session: ChargerSession
    _ocpp_version: str
    _unique_id_generator: Any
    _connection: Any
    route_map: dict
    known_actions: frozenset[str] = frozenset()

    def _bind(self, session: ChargerSession) -> None:
        self.session = session
        self.calls_received = 0
        self.unmatched_results = 0
        self.throttled = 0
        self._waiters: dict[str, asyncio.Future] = {}
        self._message_bucket: TokenBucket | None = None
        self._byte_bucket: TokenBucket | None = None
        self._response_queue = None  # the library's queue: never used (see class doc)

    def limit_rate(self, messages: TokenBucket, data: TokenBucket) -> None:
        """Throttle what this connection's peer sends (messages and bytes per second)."""
        self._message_bucket = messages
        self._byte_bucket = data

    async def start(self) -> None:
        """Receive loop: one frame at a time, paced by the connection's rate limits (a
        flooding charger waits; frames beyond websockets' small queue stay in the kernel)."""
        while True:
            message = await self._connection.recv()
            delay = 0.0
            if self._message_bucket is not None and self._byte_bucket is not None:
                delay = max(self._message_bucket.take(1), self._byte_bucket.take(len(message)))
            if delay > 0:
                self.throttled += 1
                await asyncio.sleep(delay)
            await self.route_message(message)

    async def call(
        self,
        payload: Any,
        suppress: bool = True,
        unique_id: str | None = None,
        skip_schema_validation: bool = False,
    ) -> Any:
        unique_id = unique_id if unique_id is not None else str(self._unique_id_generator())
        waiter: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters[unique_id] = waiter
        try:
            return await super().call(  # type: ignore[misc]
                payload, suppress, unique_id, skip_schema_validation
            )
        finally:
            if self._waiters.get(unique_id) is waiter:
                del self._waiters[unique_id]
            waiter.cancel()

    async def _get_specific_response(self, unique_id: str, timeout: float) -> Any:
        waiter = self._waiters.get(unique_id)
        if waiter is None:  # call() registers it before sending
            raise TimeoutError
        return await asyncio.wait_for(waiter, timeout)

    def close_waiters(self) -> None:
        """The connection is gone: fail the calls in flight, keep nothing."""
        for waiter in self._waiters.values():
            waiter.cancel()
        self._waiters.clear()

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            msg = unpack(raw_msg)
        except OCPPError as exc:
            await self._send_framework_error(raw_msg, exc)
            return
        except RecursionError:  # JSON nested deeper than the interpreter's recursion limit
            await self._send_framework_error(
                raw_msg, FormatViolationError(details={"cause": "JSON nested too deep"})
            )
            return
        if msg.message_type_id != MessageType.Call:
            unique_id = msg.unique_id
            waiter = self._waiters.get(unique_id) if isinstance(unique_id, str) else None
            if waiter is None or waiter.done():
                # Not an answer to a call in flight (late, duplicate or made up): dropped.
                self.unmatched_results += 1
                self.session.record_unmatched_result(self.unmatched_results)
                return
            waiter.set_result(msg)
            return
        self.calls_received += 1
        if self.calls_received == 1 and msg.action != "BootNotification":
            # Reconnected without rebooting: the charger is alive, but it may keep the meter
            # interval of another CSMS (e.g. `twin csms` at commissioning): configure metering
            # for this run, then re-apply our set-point.
            self.session.spawn(self._configure_then_resync("reconnect"), key="configure")
        if not isinstance(msg.action, str) or not isinstance(msg.payload, dict):
            await self._send_error(msg, ProtocolError(details={"cause": "bad action/payload"}))
            return
        if msg.action not in self.route_map:
            error = (
                OcppNotImplementedError(details={"cause": f"{msg.action} not handled"})
                if msg.action in self.known_actions
                else NotSupportedError(details={"cause": f"{msg.action} unknown"})
            )
            self.session.record_protocol_error(f"unhandled action {msg.action}")
            await self._send_error(msg, error)
            return
        try:
            await self._handle_call(msg)
        except OCPPError as exc:
            LOGGER.info(
                "%s: %s refused: %s", self.session.charger_id, safe_text(msg.action), safe_text(exc)
            )
            self.session.record_protocol_error(f"{msg.action}: {exc.code}")
            await self._send_error(msg, exc)
        except RecursionError:  # payload nested too deep for schema validation
            self.session.record_protocol_error(f"{msg.action}: nested too deep")
            await self._send_error(
                msg, FormatViolationError(details={"cause": "payload nested too deep"})
            )

    async def _send_error(self, msg: Call, error: OCPPError) -> None:
        call_error = msg.create_call_error(error)
        call_error.error_code = self._code(call_error.error_code)
        await self._send(call_error.to_json())

    async def _send_framework_error(self, raw_msg: str | bytes, exc: OCPPError) -> None:
        """Answer a frame that is not a valid OCPP-J message at all (a malformed CALLRESULT or
        CALLERROR is dropped and counted: OCPP-J never answers an answer)."""
        unique_id = "-1"  # per OCPP-J when the message id cannot be read
        try:
            parsed = json.loads(raw_msg)
            if isinstance(parsed, list) and len(parsed) > 1 and isinstance(parsed[1], str):
                unique_id = parsed[1][:36]
        except (ValueError, TypeError, RecursionError):
            parsed = None
        if isinstance(parsed, list) and parsed and parsed[0] in (3, 4):
            self.unmatched_results += 1
            self.session.record_protocol_error("malformed CALLRESULT/CALLERROR dropped")
            return
        # 1.6 has neither RpcFrameworkError nor MessageTypeNotSupported.
        unknown_type = isinstance(parsed, list) and bool(parsed) and parsed[0] not in (2, 3, 4)
        if self._ocpp_version == "1.6":
            bad_json = isinstance(exc, FormatViolationError)
            code = "FormationViolation" if bad_json else "ProtocolError"
        else:
            code = "MessageTypeNotSupported" if unknown_type else "RpcFrameworkError"
        self.session.record_protocol_error(f"bad frame: {code}")
        reply = CallError(unique_id, code, exc.description, {"cause": str(exc.details)[:200]})
        await self._send(reply.to_json())

    def _code(self, code: str) -> str:
        return _CODES_V16.get(code, code) if self._ocpp_version == "1.6" else code

    def _heartbeat_interval_s(self) -> int:
        return self.session.heartbeat_interval_s

    async def _configure_then_resync(self, reason: str) -> None:
        await self.session.configure_metering()
        await self.session.resync(reason)

    def _after_boot(self) -> None:
        self.session.spawn(self._configure_then_resync("boot"), key="configure")


class CsmsChargePoint16(_RobustRpc, ChargePoint16):
    """Handlers for an OCPP 1.6J charge point."""

    known_actions = frozenset(action.value for action in Action16)

    def __init__(
        self, charger_id: str, connection: Any, session: ChargerSession, response_timeout_s: float
    ) -> None:
        super().__init__(
            charger_id, connection, response_timeout=response_timeout_s, logger=WIRE_LOGGER
        )
        self._bind(session)

    @on(Action16.boot_notification)
    def on_boot_notification_16(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> result16.BootNotification:
        self.session.on_boot(charge_point_vendor, charge_point_model)
        return result16.BootNotification(
            current_time=utc_now_iso(), interval=self._heartbeat_interval_s(), status="Accepted"
        )

    @after(Action16.boot_notification)
    def after_boot_notification_16(self, **kwargs: Any) -> None:
        self._after_boot()

    @on(Action16.heartbeat)
    def on_heartbeat_16(self, **kwargs: Any) -> result16.Heartbeat:
        return result16.Heartbeat(current_time=utc_now_iso())

    @on(Action16.status_notification)
    def on_status_notification_16(
        self, connector_id: int, status: str, **kwargs: Any
    ) -> result16.StatusNotification:
        if connector_id == self.session.connector_id:
            self.session.on_connector_status(status)
        return result16.StatusNotification()

    @on(Action16.authorize)
    def on_authorize_16(self, id_tag: str, **kwargs: Any) -> result16.Authorize:
        return result16.Authorize(id_tag_info={"status": "Accepted"})

    @on(Action16.start_transaction)
    def on_start_transaction_16(
        self, connector_id: int, **kwargs: Any
    ) -> result16.StartTransaction:
        transaction_id = self.session.new_transaction_number()
        if connector_id == self.session.connector_id:
            self.session.on_transaction_started(transaction_id)
        return result16.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": "Accepted"}
        )

    @after(Action16.start_transaction)
    def after_start_transaction_16(self, connector_id: int, **kwargs: Any) -> None:
        if connector_id == self.session.connector_id:
            # A TxProfile needs the transaction id: refresh the set-point now that it exists.
            self.session.spawn(self.session.resync("transaction start"), key="resync")

    @on(Action16.stop_transaction)
    def on_stop_transaction_16(
        self, transaction_id: int, **kwargs: Any
    ) -> result16.StopTransaction:
        if transaction_id == self.session.transaction_id:
            self.session.on_transaction_ended()
        return result16.StopTransaction(id_tag_info={"status": "Accepted"})

    @on(Action16.meter_values)
    def on_meter_values_16(
        self, connector_id: int, meter_value: list[dict], **kwargs: Any
    ) -> result16.MeterValues:
        if connector_id == self.session.connector_id:
            transaction_id = kwargs.get("transaction_id")
            if self.session.transaction_id is None and transaction_id is not None:
                # A transaction that began before this CSMS (re)started: adopt it.
                self.session.on_transaction_started(transaction_id)
            self.session.on_meter_values(meter_value)
        return result16.MeterValues()

    @on(Action16.data_transfer)
    def on_data_transfer_16(self, vendor_id: str, **kwargs: Any) -> result16.DataTransfer:
        return result16.DataTransfer(status="UnknownVendorId")

    @on(Action16.firmware_status_notification)
    def on_firmware_status_16(self, **kwargs: Any) -> result16.FirmwareStatusNotification:
        return result16.FirmwareStatusNotification()

    @on(Action16.diagnostics_status_notification)
    def on_diagnostics_status_16(self, **kwargs: Any) -> result16.DiagnosticsStatusNotification:
        return result16.DiagnosticsStatusNotification()

    @on(Action16.security_event_notification)
    def on_security_event_16(self, **kwargs: Any) -> result16.SecurityEventNotification:
        self.session.record_security_event(str(kwargs.get("type")))
        return result16.SecurityEventNotification()

    @on(Action16.log_status_notification)
    def on_log_status_16(self, **kwargs: Any) -> result16.LogStatusNotification:
        return result16.LogStatusNotification()

    @on(Action16.signed_firmware_status_notification)
    def on_signed_firmware_status_16(
        self, **kwargs: Any
    ) -> result16.SignedFirmwareStatusNotification:
        return result16.SignedFirmwareStatusNotification()


class _Handlers2x(_RobustRpc):
    """Handlers shared by OCPP 2.0.1 and 2.1 (their result classes come from `_call_result`)."""

    _call_result: Any

    def __init__(
        self, charger_id: str, connection: Any, session: ChargerSession, response_timeout_s: float
    ) -> None:
        super().__init__(
            charger_id, connection, response_timeout=response_timeout_s, logger=WIRE_LOGGER
        )
        self._bind(session)

    @on("BootNotification")
    def on_boot_notification_2x(self, charging_station: dict, **kwargs: Any) -> Any:
        self.session.on_boot(
            charging_station.get("vendor_name", ""), charging_station.get("model", "")
        )
        return self._call_result.BootNotification(
            current_time=utc_now_iso(), interval=self._heartbeat_interval_s(), status="Accepted"
        )

    @after("BootNotification")
    def after_boot_notification_2x(self, **kwargs: Any) -> None:
        self._after_boot()

    @on("Heartbeat")
    def on_heartbeat_2x(self, **kwargs: Any) -> Any:
        return self._call_result.Heartbeat(current_time=utc_now_iso())

    @on("StatusNotification")
    def on_status_notification_2x(self, connector_status: str, evse_id: int, **kwargs: Any) -> Any:
        if evse_id == self.session.connector_id:
            self.session.on_connector_status(connector_status)
        return self._call_result.StatusNotification()

    @on("Authorize")
    def on_authorize_2x(self, id_token: dict, **kwargs: Any) -> Any:
        return self._call_result.Authorize(id_token_info={"status": "Accepted"})

    @on("TransactionEvent")
    def on_transaction_event_2x(
        self, event_type: str, transaction_info: dict, **kwargs: Any
    ) -> Any:
        evse = kwargs.get("evse") or {}
        ours = evse.get("id", self.session.connector_id) == self.session.connector_id
        transaction_id = transaction_info.get("transaction_id")
        if ours or transaction_id == self.session.transaction_id:
            if event_type == "Started" or (
                event_type == "Updated" and self.session.transaction_id is None
            ):
                # Updated without a known Started: adopt a transaction begun before a restart.
                self.session.on_transaction_started(transaction_id)
            self.session.on_charging_state(transaction_info.get("charging_state"))
            self.session.on_meter_values(kwargs.get("meter_value"))
            if event_type == "Ended":
                self.session.on_transaction_ended()
        if kwargs.get("id_token"):
            return self._call_result.TransactionEvent(id_token_info={"status": "Accepted"})
        return self._call_result.TransactionEvent()

    @after("TransactionEvent")
    def after_transaction_event_2x(
        self, event_type: str, transaction_info: dict, **kwargs: Any
    ) -> None:
        if event_type == "Started" and transaction_info.get("transaction_id") == (
            self.session.transaction_id
        ):
            self.session.spawn(self.session.resync("transaction start"), key="resync")

    @on("MeterValues")
    def on_meter_values_2x(self, evse_id: int, meter_value: list[dict], **kwargs: Any) -> Any:
        if evse_id == self.session.connector_id:
            self.session.on_meter_values(meter_value)
        return self._call_result.MeterValues()

    @on("NotifyEVChargingNeeds")
    def on_notify_ev_charging_needs_2x(
        self, charging_needs: dict, evse_id: int, **kwargs: Any
    ) -> Any:
        if evse_id == self.session.connector_id:
            self.session.on_charging_needs(charging_needs)
        return self._call_result.NotifyEVChargingNeeds(status="Accepted")

    @on("NotifyEVChargingSchedule")
    def on_notify_ev_charging_schedule_2x(self, **kwargs: Any) -> Any:
        return self._call_result.NotifyEVChargingSchedule(status="Accepted")

    @on("NotifyReport")
    def on_notify_report_2x(self, **kwargs: Any) -> Any:
        return self._call_result.NotifyReport()

    @on("NotifyEvent")
    def on_notify_event_2x(self, **kwargs: Any) -> Any:
        return self._call_result.NotifyEvent()

    @on("NotifyChargingLimit")
    def on_notify_charging_limit_2x(self, **kwargs: Any) -> Any:
        return self._call_result.NotifyChargingLimit()

    @on("ClearedChargingLimit")
    def on_cleared_charging_limit_2x(self, **kwargs: Any) -> Any:
        return self._call_result.ClearedChargingLimit()

    @on("ReportChargingProfiles")
    def on_report_charging_profiles_2x(self, **kwargs: Any) -> Any:
        return self._call_result.ReportChargingProfiles()

    @on("SecurityEventNotification")
    def on_security_event_2x(self, **kwargs: Any) -> Any:
        self.session.record_security_event(str(kwargs.get("type")))
        return self._call_result.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status_2x(self, **kwargs: Any) -> Any:
        return self._call_result.FirmwareStatusNotification()

    @on("LogStatusNotification")
    def on_log_status_2x(self, **kwargs: Any) -> Any:
        return self._call_result.LogStatusNotification()

    @on("DataTransfer")
    def on_data_transfer_2x(self, **kwargs: Any) -> Any:
        return self._call_result.DataTransfer(status="UnknownVendorId")


class CsmsChargePoint201(_Handlers2x, ChargePoint201):
    """Handlers for an OCPP 2.0.1 charging station."""

    known_actions = frozenset(action.value for action in Action201)


class CsmsChargePoint21(_Handlers2x, ChargePoint21):
    """Handlers for an OCPP 2.1 charging station (V2X set-points)."""

    known_actions = frozenset(action.value for action in Action21)


CHARGE_POINT_CLASSES: dict[str, type[_RobustRpc]] = {
    "ocpp1.6": CsmsChargePoint16,
    "ocpp2.0.1": CsmsChargePoint201,
    "ocpp2.1": CsmsChargePoint21,
}
"""Websocket subprotocol -> handler class."""

VERSIONS = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1", "ocpp2.1": "2.1"}
"""Websocket subprotocol -> OCPP version string used by the `ocpp` library."""
