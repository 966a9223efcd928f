"""`ChargerAdapter` for one charger connected to the twin's central system (CSMS)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ocpp.exceptions import OCPPError

from adapters.base import ChargerReading, ChargerUnavailable, SetpointRejected
from adapters.ocpp import charging_profiles
from adapters.ocpp.session import ChargerSession, SetpointCallError


class OcppChargerAdapter:
    """One OCPP charger as the twin sees it: power commands out, MeterValues in.

    The charger dials in to the CSMS, so `connect` waits for it; `close` removes the twin's
    charging profile but leaves the charger's websocket open (it belongs to the charger).

    Args:
        session: the CSMS's state of this charger.
        clock: CSMS clock, s (the timestamp of readings).
        connect_timeout_s: how long `connect` waits for the charger to dial in, s.
    """

    def __init__(
        self,
        session: ChargerSession,
        clock: Callable[[], float],
        connect_timeout_s: float = 30.0,
    ) -> None:
        self._session = session
        self._clock = clock
        self.charger_id = session.charger_id
        self.connect_timeout_s = connect_timeout_s

    @property
    def can_discharge(self) -> bool:
        """True on OCPP 2.1 when the EV reported a bidirectional mode (or configured so)."""
        return self._session.can_discharge

    @property
    def capabilities_reported(self) -> bool:
        """Connected and set up for the run: it answered the CSMS's metering configuration on
        this connection (after its BootNotification, or at once on a reconnect without one)."""
        return self._session.online and self._session.metering_configured

    @property
    def ev_needs(self) -> tuple[int, float | None, float | None] | None:
        """(sequence number, departure s since the epoch, energy kWh) of the EV's latest
        NotifyEVChargingNeeds, or None before one arrived; read from any thread."""
        session = self._session
        needs = session.ev_needs
        if needs is None:
            return None
        return session.ev_needs_seq, needs.departure_unix_s, needs.energy_kwh

    @property
    def version(self) -> str | None:
        """Negotiated OCPP version of the current (or last) connection."""
        return self._session.version

    @property
    def online(self) -> bool:
        """True while the charger's websocket is open."""
        return self._session.online

    async def connect(self) -> None:
        """Wait until the charger is connected; raises ChargerUnavailable after the timeout."""
        await self._session.wait_connected(self.connect_timeout_s)

    async def set_power(self, power_kw: float) -> None:
        """Send `power_kw` (+ charge, - discharge) as a charging profile.

        The value is remembered as the target even when it cannot be delivered now: the CSMS
        re-applies the latest target when the charger reconnects or starts a transaction.

        Raises:
            ChargerUnavailable: not connected, connection lost or no answer in time.
            SetpointRejected: refused (status not Accepted, discharge impossible); the
                subclass `SetpointCallError` (with `error_code`) for a CALLERROR.
        """
        await self._session.apply_setpoint(power_kw)

    async def set_frequency_curve(self, points_w: list[tuple[float, float]]) -> None:
        """Hand frequency response to the charger (OCPP 2.1 LocalFrequency): from now on it
        follows `points_w` (frequency Hz, power W; + charge / - discharge) from its own frequency
        measurement, until a set-point (`set_power`) or `close` replaces the profile.

        Raises:
            ChargerUnavailable: not connected, or no answer in time.
            SetpointRejected: not OCPP 2.1, discharge in the curve where impossible, the curve
                is unusable, or the charger refused it (SetpointCallError for a CALLERROR).
        """
        session = self._session
        if session.version != "2.1":
            raise SetpointRejected(
                f"{self.charger_id}: LocalFrequency needs OCPP 2.1 (connected with "
                f"{session.version or 'nothing'})"
            )
        if any(w < 0 for _, w in points_w) and not session.can_discharge:
            raise SetpointRejected(
                f"{self.charger_id}: the curve discharges but the charger has not said it can"
            )
        transaction_id = None if session.transaction_id is None else str(session.transaction_id)
        try:
            request = charging_profiles.set_local_frequency_v21(
                points_w, session.connector_id, transaction_id
            )
        except ValueError as exc:
            raise SetpointRejected(f"{self.charger_id}: {exc}") from exc
        await self._send_v21(request, "LocalFrequency profile")
        # A reconnect re-applies the last set-point, not the curve: forget it.
        session.target_kw = None

    async def set_external_limits(self, import_kw: float, export_kw: float) -> None:
        """Hand the charger the DSO's envelope (OCPP 2.1 ExternalLimits in a
        ChargingStationExternalConstraints profile): whatever set-point it follows, its power
        stays within -export_kw..+import_kw. The set-point profile is left in place.

        Raises:
            ChargerUnavailable, SetpointRejected: as for `set_frequency_curve`.
        """
        session = self._session
        self._require_v21("ExternalLimits")
        if export_kw > 0 and not session.can_discharge:
            export_kw = 0.0  # no discharge allowance to a charger that cannot discharge
        try:
            request = charging_profiles.set_external_limits_v21(import_kw, export_kw)
        except ValueError as exc:
            raise SetpointRejected(f"{self.charger_id}: {exc}") from exc
        await self._send_v21(request, "ExternalLimits profile")

    async def set_operation_mode(self, mode: str, limit_kw: float | None = None) -> None:
        """Put the charger in OCPP 2.1 Idle (no power) or ChargingOnly (charge up to
        `limit_kw`, never discharge) in place of the twin's set-point profile.

        Raises:
            ChargerUnavailable, SetpointRejected: as for `set_frequency_curve`.
        """
        session = self._session
        self._require_v21(mode)
        transaction_id = None if session.transaction_id is None else str(session.transaction_id)
        try:
            request = charging_profiles.set_operation_mode_v21(
                mode, limit_kw, session.connector_id, transaction_id
            )
        except ValueError as exc:
            raise SetpointRejected(f"{self.charger_id}: {exc}") from exc
        await self._send_v21(request, f"{mode} profile")
        session.target_kw = None

    async def set_central_frequency(
        self,
        curve_w: list[tuple[int, float]] | None = None,
        *,
        capacity_kw: float | None = None,
        baseline_kw: float = 0.0,
    ) -> None:
        """Hand regulation to the charger (OCPP 2.1 CentralFrequency): from now on its power is
        `baseline_kw` + the signal-watt curve at the latest `send_afrr_signal`, until a
        set-point (`set_power`) or `close` replaces the profile.

        Args:
            curve_w: (AFRR signal, power W) points; or, instead,
            capacity_kw: a symmetric regulation capacity: signal -100..+100 -> -capacity..
                +capacity kW around the baseline (charging_profiles.signal_watt_curve).
            baseline_kw: the power at signal 0 (+ charge, - discharge), kW.

        Raises:
            ChargerUnavailable: not connected, or no answer in time.
            SetpointRejected: not OCPP 2.1, discharge in the curve where impossible, neither or
                both of curve/capacity, the curve is unusable, or the charger refused it
                (SetpointCallError for a CALLERROR).
        """
        session = self._session
        self._require_v21("CentralFrequency")
        baseline_w = baseline_kw * 1000.0
        try:
            if (curve_w is None) == (capacity_kw is None):
                raise ValueError("give either a curve or a regulation capacity")
            if curve_w is None:
                curve_w = charging_profiles.signal_watt_curve(float(capacity_kw or 0.0) * 1000.0)
            transaction_id = None if session.transaction_id is None else str(session.transaction_id)
            request = charging_profiles.set_central_frequency_v21(
                curve_w, session.connector_id, transaction_id, baseline_w
            )
        except ValueError as exc:
            raise SetpointRejected(f"{self.charger_id}: {exc}") from exc
        if any(baseline_w + w < 0 for _, w in curve_w) and not session.can_discharge:
            raise SetpointRejected(
                f"{self.charger_id}: the curve discharges but the charger has not said it can"
            )
        await self._send_v21(request, "CentralFrequency profile")
        # A reconnect re-applies the last set-point, not the curve: forget it.
        session.target_kw = None

    async def send_afrr_signal(self, signal: int, at: datetime | None = None) -> None:
        """Send one regulation signal value (OCPP 2.1 AFRRSignal, in force from `at`, default
        now) to a charger in CentralFrequency mode; `charging_profiles.afrr_signal_from_pu`
        turns a pu signal into it.

        Raises:
            ChargerUnavailable: not connected, or no answer in time.
            SetpointRejected: not OCPP 2.1, `signal` not an integer, or the charger refused it
                (Rejected: not in CentralFrequency mode; SetpointCallError for a CALLERROR).
        """
        self._require_v21("AFRRSignal")
        try:
            request = charging_profiles.afrr_signal_v21(signal, at)
        except ValueError as exc:
            raise SetpointRejected(f"{self.charger_id}: {exc}") from exc
        await self._send_v21(request, "AFRRSignal")

    def _require_v21(self, what: str) -> None:
        version = self._session.version
        if version != "2.1":
            raise SetpointRejected(
                f"{self.charger_id}: {what} needs OCPP 2.1 (connected with {version or 'nothing'})"
            )

    async def _send_v21(self, request: object, what: str) -> None:
        session = self._session
        try:
            async with session._command_lock:
                result = await session._call(request)
        except OCPPError as exc:
            raise SetpointCallError(
                f"{self.charger_id}: {what} answered with CALLERROR {exc.code}", exc.code
            ) from exc
        except TimeoutError as exc:
            raise ChargerUnavailable(f"{self.charger_id}: no answer to the {what}") from exc
        if result.status != "Accepted":
            raise SetpointRejected(f"{self.charger_id}: {what} {result.status}")

    async def read(self) -> ChargerReading:
        """Latest MeterValues (power 0 and energy 0 until the first sample arrives).

        Raises:
            ChargerUnavailable: the charger is not connected.
        """
        session = self._session
        if not session.online:
            raise ChargerUnavailable(f"charger {self.charger_id} is not connected")
        timestamp_s = session.sample_time_s
        return ChargerReading(
            power_kw=session.power_kw,
            energy_kwh=session.energy_kwh,
            soc=session.soc,
            status=session.status(),
            timestamp_s=session.connected_since_s if timestamp_s is None else timestamp_s,
        )

    async def close(self) -> None:
        """Forget the set-point and clear the twin's profile on the charger (best effort)."""
        await self._session.clear_setpoint()
