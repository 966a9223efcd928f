"""Generic Modbus TCP charger adapter: one driver, vendor behaviour from a register map.

`ModbusChargerAdapter` implements `adapters.base.ChargerAdapter` on pymodbus 3.16's
`AsyncModbusTcpClient`. A background task keeps the set-point alive (rewrites it, or the
heartbeat register, well before the map's expiry) and reconnects with back-off when the link
drops; after a reconnect it rewrites the configuration and the last set-point, so a charger
that fell back to its failsafe current returns to the twin's value.

pymodbus' own reconnect is disabled (`reconnect_delay=0`): the adapter owns the link state so
that `read()` can fail fast with `ChargerUnavailable` instead of waiting on a hidden retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from adapters.base import (
    ChargerReading,
    ChargerStatus,
    ChargerUnavailable,
    SetpointRejected,
)
from adapters.modbus.register_codec import (
    PointValueError,
    decode_value,
    encode_value,
    raw_from_registers,
)
from adapters.modbus.register_map import PointSpec, RegisterMap, load_register_map
from adapters.modbus.setpoint_conversion import (
    DeviceSetpoint,
    device_power_to_twin_kw,
    device_setpoint,
)

log = logging.getLogger(__name__)

_DISCHARGE_THRESHOLD_KW = 0.05


class ModbusChargerAdapter:
    """A Modbus TCP charger driven through a register map.

    Args:
        host: charger IP or name.
        port: Modbus TCP port (502 on real chargers).
        map_name_or_path: shipped map name (e.g. `"alfen_eve"`) or YAML path.
        charger_id: identity in scenarios/results; default `"host:port/unit"`.
        unit_id: Modbus unit id; default from the map.
        timeout_s: per-request timeout, s.
        refresh_s: set-point refresh period, s; default a third of the expiry.
        setpoint_expiry_s: expiry written to the map's expiry register (if it has one) and
            used to derive `refresh_s`; default the map's `expiry_s`.
        reconnect_min_s, reconnect_max_s: reconnect back-off bounds, s (doubling).
        clock: seconds for reading timestamps; default the running loop's clock.

    Raises:
        RegisterMapError: the map cannot be loaded.
    """

    def __init__(
        self,
        host: str,
        port: int = 502,
        map_name_or_path: str | Path | RegisterMap = "phoenix_charx",
        charger_id: str | None = None,
        *,
        unit_id: int | None = None,
        timeout_s: float = 2.0,
        refresh_s: float | None = None,
        setpoint_expiry_s: float | None = None,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 5.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.regmap = (
            map_name_or_path
            if isinstance(map_name_or_path, RegisterMap)
            else load_register_map(map_name_or_path)
        )
        self.host = host
        self.port = port
        self.unit_id = self.regmap.unit_id if unit_id is None else unit_id
        self.charger_id = charger_id or f"{host}:{port}/{self.unit_id}"
        self.can_discharge = self.regmap.can_discharge
        self.timeout_s = timeout_s
        self.setpoint_expiry_s = setpoint_expiry_s or self.regmap.setpoint.expiry_s
        # A third of the expiry leaves two refreshes' slack for a slow or lost request.
        self.refresh_s = refresh_s if refresh_s is not None else self.setpoint_expiry_s / 3.0
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self._clock = clock
        self._client: AsyncModbusTcpClient | None = None
        self._link_up = False
        self._io_lock = asyncio.Lock()
        self._supervisor: asyncio.Task[None] | None = None
        self._link_lost = asyncio.Event()
        self._generation = 0  # tells this connection's events from a previous one's
        self._inflight: asyncio.Future[Any] | None = None
        self._closing = False
        self._scale_factors: dict[str, int] = {}
        self.last_setpoint: DeviceSetpoint | None = None
        """The set-point last asked for (re-sent after every reconnect)."""
        self.last_error: str | None = None
        self.reconnects = 0
        self.refreshes_sent = 0

    # ------------------------------------------------------------ protocol
    async def connect(self) -> None:
        """Open the link, configure the charger, start the refresh/reconnect task.

        Raises:
            ChargerUnavailable: no Modbus TCP peer answers at host:port.
        """
        self._closing = False
        if not await self._open_link():
            raise ChargerUnavailable(
                f"{self.charger_id}: no Modbus TCP answer at {self.host}:{self.port} "
                f"({self.last_error}); check address, port and that Modbus TCP is enabled"
            )
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.create_task(
                self._supervise(), name=f"modbus-supervisor-{self.charger_id}"
            )

    async def set_power(self, power_kw: float) -> None:
        """Command a power set-point, kW (+ charge, - discharge).

        AC maps: converted to a per-phase current, rounded down to the register step,
        clamped to the rated current; below the minimum current the charger is paused.
        The set-point is remembered and re-sent after a reconnect even if this call fails.

        Raises:
            ChargerUnavailable: link down (the set-point is applied on reconnect).
            SetpointRejected: the charger answered with a Modbus exception, or a negative
                set-point on a charge-only charger (the charger is paused instead).
        """
        setpoint = device_setpoint(power_kw, self.regmap)
        self.last_setpoint = setpoint
        await self._send_setpoint(setpoint)
        if power_kw < 0 and not self.can_discharge:
            raise SetpointRejected(
                f"{self.charger_id}: {power_kw} kW asks for discharge, but map "
                f"{self.regmap.name} is charge-only; the charger was paused instead"
            )

    async def read(self) -> ChargerReading:
        """Read power, energy, SoC and status (decoded, scaled, in twin sign).

        Raises:
            ChargerUnavailable: link down, request timed out, or the charger refused a read.
        """
        m = self.regmap.measurements
        device_w = await self._read_value(m.power_point)
        power_kw = device_power_to_twin_kw(device_w, self.regmap)
        energy_wh = await self._read_value(m.energy_point)
        if m.energy_export_point is not None:
            energy_wh -= await self._read_value(m.energy_export_point)
        soc = None
        if m.soc_point is not None:
            soc_registers = await self._read_registers(m.soc_point)
            point = self.regmap.point(m.soc_point)
            raw = raw_from_registers(point, soc_registers)
            if m.soc_absent_raw is None or raw != m.soc_absent_raw:
                soc = decode_value(point, soc_registers, self._sf(point)) / 100.0
        status = await self._read_status()
        if status == ChargerStatus.CHARGING and power_kw < -_DISCHARGE_THRESHOLD_KW:
            status = ChargerStatus.DISCHARGING
        return ChargerReading(
            power_kw=power_kw,
            energy_kwh=energy_wh / 1000.0,
            soc=soc,
            status=status,
            timestamp_s=self._now(),
        )

    async def close(self) -> None:
        """Release the set-point to the charger's failsafe value and close the link."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self._link_up:
            with contextlib.suppress(ChargerUnavailable, SetpointRejected):
                await self._release_setpoint()
        self._drop_link(None)

    @property
    def connected(self) -> bool:
        """True while the Modbus TCP link is up."""
        return self._link_up

    # --------------------------------------------------------- link handling
    async def _open_link(self) -> bool:
        self._drop_link(None)
        self._generation += 1
        generation = self._generation
        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            timeout=self.timeout_s,
            retries=0,
            reconnect_delay=0,  # the supervisor reconnects, not pymodbus
            name=self.charger_id,
            # Hear about a closed connection at once, not at the next request's timeout.
            trace_connect=lambda up, gen=generation: self._on_transport_event(gen, up),
        )
        try:
            ok = await asyncio.wait_for(client.connect(), timeout=self.timeout_s + 1.0)
        except (TimeoutError, OSError, ModbusException) as exc:
            ok = False
            self.last_error = f"connect: {exc!r}"
        if not ok:
            client.close()
            self.last_error = self.last_error or "connect refused or timed out"
            return False
        self._client = client
        self._link_up = True
        self._link_lost.clear()
        try:
            await self._configure()
            if self.last_setpoint is not None:
                await self._send_setpoint(self.last_setpoint)
        except (ChargerUnavailable, SetpointRejected) as exc:
            self.last_error = str(exc)
            self._drop_link(str(exc))
            return False
        self.last_error = None
        return True

    def _drop_link(self, reason: str | None) -> None:
        if reason is not None and self._link_up:
            log.warning("%s: Modbus link down: %s", self.charger_id, reason)
            self.last_error = reason
        self._link_up = False
        self._link_lost.set()  # wakes the supervisor out of its refresh wait
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _on_transport_event(self, generation: int, connected: bool) -> None:
        if not connected and generation == self._generation and self._link_up:
            if self._inflight is not None:
                self._inflight.cancel()
            asyncio.get_running_loop().call_soon(
                self._drop_link, "connection closed by the charger"
            )

    async def _supervise(self) -> None:
        backoff_s = self.reconnect_min_s
        while not self._closing:
            if self._link_up:
                try:
                    await asyncio.wait_for(self._link_lost.wait(), timeout=self.refresh_s)
                    continue  # link lost while waiting: go reconnect
                except TimeoutError:
                    pass
                with contextlib.suppress(ChargerUnavailable, SetpointRejected):
                    await self._refresh()
                backoff_s = self.reconnect_min_s
            else:
                await asyncio.sleep(backoff_s)
                if await self._open_link():
                    self.reconnects += 1
                    log.info("%s: reconnected", self.charger_id)
                    backoff_s = self.reconnect_min_s
                else:
                    backoff_s = min(backoff_s * 2.0, self.reconnect_max_s)

    async def _configure(self) -> None:
        sp = self.regmap.setpoint
        self._scale_factors = {}
        # SunSpec scale factors are fixed per device: read them once per connection.
        for sf_name in {p.scale_factor for p in self.regmap.points.values() if p.scale_factor}:
            regs = await self._read_registers(sf_name)
            self._scale_factors[sf_name] = int(raw_from_registers(self.regmap.point(sf_name), regs))
        if sp.expiry_point is not None:
            await self._write_value(sp.expiry_point, self.setpoint_expiry_s)
        for name, value in sp.config_writes.items():
            await self._write_value(name, value)

    async def _refresh(self) -> None:
        sp = self.regmap.setpoint
        if self.last_setpoint is not None:
            await self._send_setpoint(self.last_setpoint)
        elif sp.alive_point is not None:
            await self._write_value(sp.alive_point, sp.alive_value)
        elif sp.refresh_by == "any_request":
            await self._read_registers(self.regmap.measurements.power_point)
        self.refreshes_sent += 1

    # ---------------------------------------------------------- set-points
    async def _send_setpoint(self, setpoint: DeviceSetpoint) -> None:
        sp = self.regmap.setpoint
        if sp.alive_point is not None:
            await self._write_value(sp.alive_point, sp.alive_value)
        if sp.enable_point is None:
            await self._write_value(sp.point, setpoint.value)
            return
        if setpoint.enabled:
            await self._write_value(sp.point, setpoint.value)
            await self._write_value(sp.enable_point, sp.enable_value)
        else:
            await self._write_value(sp.enable_point, 0)
            await self._write_value(sp.point, setpoint.value)

    async def _release_setpoint(self) -> None:
        sp = self.regmap.setpoint
        if sp.quantity == "current_a":
            await self._write_value(sp.point, float(sp.failsafe_current_a or 0.0))
            if sp.enable_point is not None:
                await self._write_value(sp.enable_point, sp.enable_value)
        elif sp.enable_point is not None:
            await self._write_value(sp.enable_point, 0)
        else:
            await self._write_value(sp.point, float(sp.failsafe_power_w or 0.0))

    # ------------------------------------------------------------ registers
    def _sf(self, point: PointSpec) -> int | None:
        return None if point.scale_factor is None else self._scale_factors.get(point.scale_factor)

    async def _read_status(self) -> ChargerStatus:
        status = self.regmap.status
        for rule in status.rules:
            point = self.regmap.point(rule.point)
            raw = raw_from_registers(point, await self._read_registers(rule.point))
            if isinstance(raw, str):
                key = raw
            else:
                value = int(raw) >> rule.shift
                key = str(value & rule.mask if rule.mask is not None else value)
            if key in rule.states:
                return rule.states[key]
        return status.default

    async def _read_value(self, name: str) -> float:
        point = self.regmap.point(name)
        try:
            return decode_value(point, await self._read_registers(name), self._sf(point))
        except PointValueError as exc:
            raise ChargerUnavailable(f"{self.charger_id}: {name}: {exc}") from None

    async def _read_registers(self, name: str) -> list[int]:
        point = self.regmap.point(name)
        if point.table == "coil":
            response = await self._request(
                f"read {name}",
                lambda c: c.read_coils(point.address, count=1, device_id=self.unit_id),
            )
            self._raise_if_refused(response, f"read {name}", ChargerUnavailable)
            return [int(bool(response.bits[0]))]
        reader = "read_input_registers" if point.table == "input" else "read_holding_registers"
        response = await self._request(
            f"read {name}",
            lambda c: getattr(c, reader)(
                point.address, count=point.register_count, device_id=self.unit_id
            ),
        )
        self._raise_if_refused(response, f"read {name}", ChargerUnavailable)
        return list(response.registers)

    async def _write_value(self, name: str, value: float) -> None:
        point = self.regmap.point(name)
        if point.table == "coil":
            response = await self._request(
                f"write {name}",
                lambda c: c.write_coil(point.address, bool(value), device_id=self.unit_id),
            )
        else:
            try:
                registers = encode_value(point, float(value), self._sf(point))
            except PointValueError as exc:
                raise SetpointRejected(f"{self.charger_id}: {name}={value}: {exc}") from None
            if len(registers) == 1:
                response = await self._request(
                    f"write {name}",
                    lambda c: c.write_register(point.address, registers[0], device_id=self.unit_id),
                )
            else:
                response = await self._request(
                    f"write {name}",
                    lambda c: c.write_registers(point.address, registers, device_id=self.unit_id),
                )
        self._raise_if_refused(response, f"write {name}={value}", SetpointRejected)

    def _raise_if_refused(
        self, response: Any, what: str, error: type[ChargerUnavailable] | type[SetpointRejected]
    ) -> None:
        if response.isError():
            code = getattr(response, "exception_code", "?")
            raise error(
                f"{self.charger_id}: charger refused {what} (Modbus exception code {code}); "
                f"check map {self.regmap.name} against the charger's register list"
            )

    async def _request(
        self, what: str, call: Callable[[AsyncModbusTcpClient], Awaitable[Any]]
    ) -> Any:
        client = self._client
        if not self._link_up or client is None or not client.connected:
            self._drop_link(f"{what}: not connected")
            raise ChargerUnavailable(f"{self.charger_id}: link down ({self.last_error})")
        async with self._io_lock:
            # A separate task so a closed connection can abort the wait (pymodbus would
            # otherwise wait for the full timeout on a request sent just before the close).
            inner = asyncio.ensure_future(call(client))
            self._inflight = inner
            try:
                done, _ = await asyncio.wait({inner}, timeout=self.timeout_s + 0.5)
            except asyncio.CancelledError:
                inner.cancel()
                raise
            finally:
                self._inflight = None
            if not done:
                inner.cancel()
                failure: BaseException = TimeoutError(f"no answer within {self.timeout_s} s")
            elif inner.cancelled():
                failure = ConnectionError("connection closed during the request")
            elif inner.exception() is not None:
                failure = inner.exception()  # type: ignore[assignment]
            else:
                return inner.result()
            if not isinstance(failure, TimeoutError | OSError | ModbusException):
                raise failure
            self._drop_link(f"{what}: {failure!r}")
            raise ChargerUnavailable(
                f"{self.charger_id}: {what} failed ({failure.__class__.__name__}: {failure})"
            ) from None

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()
