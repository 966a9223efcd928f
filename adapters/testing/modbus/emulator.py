"""A Modbus TCP charger emulator that serves any register map with charging physics.

The emulator is a pymodbus 3.16 server (SimDevice with one block per table) whose access hook
(`SimDevice.action`) does three things on every request:

1. advance the EV physics to "now" (lazily, so an injected clock makes tests exact),
2. enforce the map (only declared points, read-only points not writable, whole points only,
   set-point range) by answering Modbus exception responses,
3. apply writes (set-point, enable, heartbeat, config) and serve read-only points from physics.

Failsafe: when the set-point is not refreshed within the map's expiry (or the value in its
expiry register), the charger falls back to the failsafe current/power until refreshed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from adapters.modbus.register_codec import (
    PointValueError,
    decode_value,
    encode_value,
    raw_from_registers,
    registers_from_raw,
)
from adapters.modbus.register_map import PointSpec, RegisterMap, load_register_map
from adapters.modbus.setpoint_conversion import current_to_power_kw, device_power_to_twin_kw
from adapters.testing.modbus.ev_session_model import EvSessionModel
from adapters.testing.modbus.server import EmulatorTcpServer

log = logging.getLogger(__name__)

_TABLE_OF_FUNCTION = {
    1: "coil",
    5: "coil",
    15: "coil",
    2: "discrete",
    3: "holding",
    6: "holding",
    16: "holding",
    22: "holding",
    23: "holding",
    4: "input",
}
_WRITE_FUNCTIONS = frozenset({5, 6, 15, 16, 22})


@dataclass(frozen=True, slots=True)
class EmulatorSnapshot:
    """What the emulated charger is doing (for tests and the CLI status line).

    Attributes:
        power_kw: actual power, kW (+ charge).
        target_kw: power the charger is steering to, kW.
        energy_import_kwh, energy_export_kwh: meters since start, kWh.
        soc: EV state of charge 0..1.
        iec61851_state: A/B/C/E.
        in_failsafe: True while no valid (unexpired) set-point is held.
        applied_current_a: current limit in force (AC maps), A.
        refreshes: number of set-point refreshes seen.
        failsafe_events: number of expiries.
        requests: Modbus requests served (including refused ones).
        exceptions: Modbus exception responses sent by the map checks.
    """

    power_kw: float
    target_kw: float
    energy_import_kwh: float
    energy_export_kwh: float
    soc: float
    iec61851_state: str
    in_failsafe: bool
    applied_current_a: float | None
    refreshes: int
    failsafe_events: int
    requests: int
    exceptions: int


class ModbusChargerEmulator:
    """Serve one register map on Modbus TCP with an EV behind it.

    Args:
        register_map: shipped map name, file path, or a loaded RegisterMap.
        host: interface to bind (loopback by default).
        port: TCP port; 0 picks a free one (read it back from `port` after `start`).
        clock: monotonic seconds; inject a `ManualClock` for exact tests.
        ev: EV session model; a default EV (60 kWh, SoC 0.5, plugged) sized to the map.
        expiry_s: override of the map's set-point expiry (short expiries for real-time tests).
    """

    def __init__(
        self,
        register_map: str | Path | RegisterMap,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        ev: EvSessionModel | None = None,
        expiry_s: float | None = None,
    ) -> None:
        self.regmap = (
            register_map
            if isinstance(register_map, RegisterMap)
            else load_register_map(register_map)
        )
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._clock = clock
        self.ev = ev if ev is not None else self._default_ev()
        self._expiry_override_s = expiry_s
        self._values: dict[str, float | str] = self._initial_values()
        self._by_table = self._index_points()
        self._server: EmulatorTcpServer | None = None
        self._t_s = clock()
        self._last_refresh_s = self._t_s
        self._setpoint_valid = False  # no EMS yet: the charger runs on its failsafe value
        self.refreshes = 0
        self.failsafe_events = 0
        self.requests = 0
        self.exceptions = 0

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Bind and serve in the background; raises OSError if the port is taken."""
        if self._server is not None:
            return
        # A restart rebinds the port picked the first time, like a rebooted charger.
        port = self._port if self._port is not None else self._requested_port
        server = EmulatorTcpServer(self._build_device(), address=(self.host, port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:  # pymodbus reports a failed bind this way
            raise OSError(f"cannot listen on {self.host}:{port}: {exc}") from None
        if server.transport is None:
            raise OSError(f"cannot listen on {self.host}:{port}")
        self._server = server
        self._port = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        log.info("modbus emulator %s on %s:%s", self.regmap.name, self.host, self._port)

    async def stop(self) -> None:
        """Close the listener and every client connection (state is kept for a restart)."""
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()
            # Let the transports finish closing before a restart rebinds the port.
            await asyncio.sleep(0)

    @property
    def port(self) -> int:
        """The bound TCP port (valid after `start`)."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def running(self) -> bool:
        """True while listening."""
        return self._server is not None

    async def __aenter__(self) -> ModbusChargerEmulator:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ EV scenario
    def plug_in(self, soc: float | None = None) -> None:
        """Connect the EV (optionally with a new SoC)."""
        self.advance()
        self.ev.plugged = True
        if soc is not None:
            self.ev.soc = soc

    def unplug(self) -> None:
        """Disconnect the EV (power drops to 0 at once, as the contactor opens)."""
        self.advance()
        self.ev.plugged = False
        self.ev.power_kw = 0.0

    def set_fault(self, faulted: bool) -> None:
        """Put the charger in (or out of) fault state E."""
        self.advance()
        self.ev.faulted = faulted
        if faulted:
            self.ev.power_kw = 0.0

    def advance(self) -> None:
        """Bring the physics up to the clock's present time."""
        self._advance_to(self._clock())

    def snapshot(self) -> EmulatorSnapshot:
        """Current state after advancing to now."""
        self.advance()
        return EmulatorSnapshot(
            power_kw=self.ev.power_kw,
            target_kw=self.ev.feasible_kw(self._target_kw()),
            energy_import_kwh=self.ev.energy_import_kwh,
            energy_export_kwh=self.ev.energy_export_kwh,
            soc=self.ev.soc,
            iec61851_state=self.ev.iec61851_state(),
            in_failsafe=not self._setpoint_valid,
            applied_current_a=self._applied_current_a(),
            refreshes=self.refreshes,
            failsafe_events=self.failsafe_events,
            requests=self.requests,
            exceptions=self.exceptions,
        )

    # ----------------------------------------------------------------- physics
    def expiry_s(self) -> float:
        """Set-point expiry in force, s (expiry register if the map has one)."""
        sp = self.regmap.setpoint
        if sp.expiry_point is not None:
            return float(self._values[sp.expiry_point])
        return self._expiry_override_s if self._expiry_override_s is not None else sp.expiry_s

    def _advance_to(self, now_s: float) -> None:
        while self._t_s < now_s:
            deadline_s = (
                self._last_refresh_s + self.expiry_s() if self._setpoint_valid else math.inf
            )
            segment_end_s = min(now_s, deadline_s)
            if segment_end_s > self._t_s:
                self.ev.advance(segment_end_s - self._t_s, self._target_kw())
                self._t_s = segment_end_s
            if self._setpoint_valid and self._t_s >= deadline_s:
                self._setpoint_valid = False
                self.failsafe_events += 1
                log.info("%s: set-point expired, failsafe", self.regmap.name)

    def _refresh(self) -> None:
        self._last_refresh_s = self._t_s
        self._setpoint_valid = True
        self.refreshes += 1

    def _applied_current_a(self) -> float | None:
        sp, el = self.regmap.setpoint, self.regmap.electrical
        if sp.quantity != "current_a" or el is None:
            return None
        if self._setpoint_valid:
            if (
                sp.enable_point is not None
                and int(float(self._values[sp.enable_point])) != sp.enable_value
            ):
                return 0.0
            current_a = float(self._values[sp.point])
        else:
            current_a = self._failsafe_value()
        if current_a < el.min_current_a:
            return 0.0  # IEC 61851: no PWM below the minimum, the EV pauses
        return min(current_a, el.max_current_a)

    def _target_kw(self) -> float:
        sp = self.regmap.setpoint
        if sp.quantity == "current_a":
            assert self.regmap.electrical is not None
            return current_to_power_kw(self._applied_current_a() or 0.0, self.regmap.electrical)
        if not self._setpoint_valid:
            return device_power_to_twin_kw(self._failsafe_value(), self.regmap)
        if (
            sp.enable_point is not None
            and int(float(self._values[sp.enable_point])) != sp.enable_value
        ):
            return 0.0
        return device_power_to_twin_kw(float(self._values[sp.point]), self.regmap)

    # ------------------------------------------------------------ register map
    def _default_ev(self) -> EvSessionModel:
        sp, el = self.regmap.setpoint, self.regmap.electrical
        if sp.quantity == "current_a" and el is not None:
            rated_kw = current_to_power_kw(el.max_current_a, el)
        else:
            rated_kw = (sp.max_power_w or 0.0) / 1000.0
        return EvSessionModel(
            max_charge_kw=rated_kw,
            max_discharge_kw=rated_kw if self.regmap.can_discharge else 0.0,
        )

    def _initial_values(self) -> dict[str, float | str]:
        sp = self.regmap.setpoint
        values: dict[str, float | str] = {}
        for name, point in self.regmap.points.items():
            if point.writable:
                values[name] = point.value if point.value is not None else 0.0
        if sp.enable_point is not None and self.regmap.points[sp.enable_point].value is None:
            values[sp.enable_point] = float(sp.enable_value)
        if sp.expiry_point is not None:
            values[sp.expiry_point] = (
                self._expiry_override_s
                if self._expiry_override_s is not None
                else self.regmap.points[sp.expiry_point].value or sp.expiry_s
            )
        if sp.failsafe_point is not None:
            declared = self.regmap.points[sp.failsafe_point].value
            default = sp.failsafe_current_a if sp.quantity == "current_a" else sp.failsafe_power_w
            values[sp.failsafe_point] = declared if declared is not None else float(default or 0.0)
        return values

    def _failsafe_value(self) -> float:
        """Failsafe current (A) or power (W, device sign) in force."""
        sp = self.regmap.setpoint
        if sp.failsafe_point is not None:
            return float(self._values[sp.failsafe_point])
        default = sp.failsafe_current_a if sp.quantity == "current_a" else sp.failsafe_power_w
        return float(default or 0.0)

    def _index_points(self) -> dict[str, dict[int, tuple[str, PointSpec]]]:
        index: dict[str, dict[int, tuple[str, PointSpec]]] = {
            "coil": {},
            "holding": {},
            "input": {},
        }
        for name, point in self.regmap.points.items():
            for offset in range(point.register_count):
                index[point.table][point.address + offset] = (name, point)
        return index

    def _build_device(self) -> SimDevice:
        blocks: dict[str, list[SimData]] = {"coil": [], "discrete": [], "holding": [], "input": []}
        for name, point in self.regmap.points.items():
            if point.table == "coil":
                initial = bool(float(self._values.get(name, point.value or 0)))
                blocks["coil"].append(
                    SimData(point.address, values=[initial], datatype=DataType.BITS)
                )
            elif point.writable and name in self._values:
                # A restarted server shows what clients wrote before (the device kept it).
                blocks[point.table].append(
                    SimData(
                        point.address,
                        values=self._written_registers(name, point),
                        datatype=DataType.REGISTERS,
                    )
                )
            else:
                blocks[point.table].append(
                    SimData(
                        point.address,
                        count=point.register_count,
                        values=0,
                        datatype=DataType.REGISTERS,
                    )
                )
        # pymodbus needs every table non-empty; the access hook refuses these placeholders.
        for table, block in blocks.items():
            if not block:
                if table in {"coil", "discrete"}:
                    block.append(SimData(0, values=[False], datatype=DataType.BITS))
                else:
                    block.append(SimData(0, values=0, datatype=DataType.REGISTERS))
        return SimDevice(
            id=self.regmap.unit_id,
            simdata=(blocks["coil"], blocks["discrete"], blocks["holding"], blocks["input"]),
            action=self._on_access,
        )

    def _written_registers(self, name: str, point: PointSpec) -> list[int]:
        value = self._values[name]
        try:
            if isinstance(value, str):
                return registers_from_raw(point, value)
            return encode_value(point, float(value), self._scale_factor(point))
        except PointValueError:
            return [0] * point.register_count

    def _scale_factor(self, point: PointSpec) -> int | None:
        if point.scale_factor is None:
            return None
        return int(self.regmap.points[point.scale_factor].value or 0)

    # ------------------------------------------------------------- access hook
    async def _on_access(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus SimDevice action: runs before every read/write of this device."""
        # pymodbus reads back after FC 5/6 to build the echo; that is not a client read.
        is_echo = set_values is None and function_code in _WRITE_FUNCTIONS
        if not is_echo:
            self.requests += 1
        self._advance_to(self._clock())
        table = _TABLE_OF_FUNCTION.get(function_code)
        if table is None or table == "discrete":
            return self._refuse(ExcCodes.ILLEGAL_ADDRESS)
        try:
            if set_values is not None:
                result = self._apply_write(table, address, list(set_values))
            elif is_echo:
                return None
            else:
                result = self._serve_read(table, start_address, address, count, registers)
        except PointValueError as exc:
            log.warning("%s: cannot encode a value: %s", self.regmap.name, exc)
            return self._refuse(ExcCodes.DEVICE_FAILURE)
        if result is not None:
            return self._refuse(result)
        if self.regmap.setpoint.refresh_by == "any_request":
            self._refresh()
        return None

    def _refuse(self, code: ExcCodes) -> ExcCodes:
        self.exceptions += 1
        return code

    def _touched_points(
        self, table: str, address: int, n: int
    ) -> list[tuple[str, PointSpec]] | None:
        index = self._by_table[table]
        touched: dict[str, PointSpec] = {}
        for addr in range(address, address + n):
            if addr not in index:
                return None
            name, point = index[addr]
            touched[name] = point
        return list(touched.items())

    def _serve_read(
        self, table: str, start_address: int, address: int, count: int, registers: list[int]
    ) -> ExcCodes | None:
        # For coils pymodbus passes the packed-register count, so check the first bit only.
        touched = self._touched_points(table, address, 1 if table == "coil" else count)
        if touched is None or not all(point.readable for _, point in touched):
            return ExcCodes.ILLEGAL_ADDRESS
        if table == "coil":
            return None
        for name, point in self.regmap.points.items():
            if point.table != table or point.writable:
                continue
            regs = self._device_registers(name, point)
            offset = point.address - start_address
            registers[offset : offset + len(regs)] = regs
        return None

    def _apply_write(self, table: str, address: int, values: list) -> ExcCodes | None:
        if table == "input":
            return ExcCodes.ILLEGAL_FUNCTION
        touched = self._touched_points(table, address, len(values))
        if touched is None:
            return ExcCodes.ILLEGAL_ADDRESS
        decoded: dict[str, float | str] = {}
        for name, point in touched:
            start = point.address - address
            if not point.writable or start < 0 or start + point.register_count > len(values):
                return ExcCodes.ILLEGAL_ADDRESS  # read-only, or only part of a multi-register value
            regs = [int(v) for v in values[start : start + point.register_count]]
            if point.type == "ascii":
                decoded[name] = str(raw_from_registers(point, regs))
            else:
                decoded[name] = decode_value(point, regs, self._scale_factor(point))
        sp = self.regmap.setpoint
        if sp.point in decoded and not self._setpoint_in_range(float(decoded[sp.point])):
            return ExcCodes.ILLEGAL_VALUE
        self._values.update(decoded)
        if (sp.refresh_by == "setpoint_write" and sp.point in decoded) or (
            sp.refresh_by == "alive_write" and sp.alive_point in decoded
        ):
            self._refresh()
        return None

    def _setpoint_in_range(self, value: float) -> bool:
        sp, el = self.regmap.setpoint, self.regmap.electrical
        if sp.quantity == "current_a":
            assert el is not None
            return 0.0 <= value <= el.max_current_a + 1e-6
        limit_w = (sp.max_power_w or 0.0) + 1e-6
        import_w = value if sp.power_sign == "import_positive" else -value
        low_w = -limit_w if self.regmap.can_discharge else -1e-6
        return low_w <= import_w <= limit_w

    def _device_registers(self, name: str, point: PointSpec) -> list[int]:
        status_raw = self._status_raw(name)
        if status_raw is not None:
            return registers_from_raw(point, status_raw)
        if point.role is None:
            if point.value is None:
                return [0] * point.register_count
            if isinstance(point.value, str):
                return registers_from_raw(point, point.value)
            return encode_value(point, float(point.value), self._scale_factor(point))
        if point.role == "soc_pct" and not self.ev.plugged:
            absent = self.regmap.measurements.soc_absent_raw
            if absent is not None:
                return registers_from_raw(point, absent)
        return encode_value(point, self._role_value(point), self._scale_factor(point))

    def _role_value(self, point: PointSpec) -> float:
        ev, el = self.ev, self.regmap.electrical
        sign = -1.0 if self.regmap.setpoint.power_sign == "export_positive" else 1.0
        role = point.role
        if role == "power_w":
            return sign * ev.power_kw * 1000.0
        if role == "energy_import_wh":
            return ev.energy_import_kwh * 1000.0
        if role == "energy_export_wh":
            return ev.energy_export_kwh * 1000.0
        if role == "soc_pct":
            return ev.soc * 100.0
        if role == "current_limit_a":
            return self._applied_current_a() or 0.0
        if role == "phase_current_a":
            if el is None:
                return 0.0
            return abs(ev.power_kw) * 1000.0 / (el.phases * el.voltage_v)
        if role == "voltage_v":
            return el.voltage_v if el is not None else 0.0
        if role == "setpoint_remaining_s":
            if not self._setpoint_valid:
                return 0.0
            return float(max(0, math.ceil(self._last_refresh_s + self.expiry_s() - self._t_s)))
        if role == "battery_capacity_wh":
            return ev.battery_kwh * 1000.0
        if role == "available_energy_wh":
            return ev.soc * ev.battery_kwh * 1000.0
        return 0.0

    def _status_raw(self, name: str) -> int | str | None:
        status = self.regmap.status
        letter = self.ev.iec61851_state()
        encoding = status.iec61851.get(letter)  # type: ignore[call-overload]
        if encoding is None:
            encoding = status.iec61851.get("F") or status.iec61851.get("E")
        if encoding is None or name not in encoding:
            return None
        key = encoding[name]
        if self.regmap.points[name].type == "ascii":
            return str(key)
        shift = next((r.shift for r in status.rules if r.point == name), 0)
        return int(key) << shift


async def run_modbus_emulator(
    map_name: str | Path | RegisterMap,
    host: str = "127.0.0.1",
    port: int = 5020,
    *,
    expiry_s: float | None = None,
    soc: float = 0.5,
    battery_kwh: float = 60.0,
    status_interval_s: float = 5.0,
    on_status: Callable[[EmulatorSnapshot], None] | None = None,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Serve `map_name` on host:port until cancelled or `stop_event` is set.

    Args:
        map_name: shipped map name, YAML path or a loaded map.
        host, port: where to listen.
        expiry_s: override of the map's set-point expiry, s.
        soc, battery_kwh: the emulated EV.
        status_interval_s: period of `on_status` calls, s.
        on_status: called with a snapshot every `status_interval_s` (e.g. to print a line).
        stop_event: set it to stop cleanly (otherwise cancel the task).
    """
    emulator = ModbusChargerEmulator(map_name, host=host, port=port, expiry_s=expiry_s)
    emulator.ev.soc = soc
    emulator.ev.battery_kwh = battery_kwh
    stop = stop_event or asyncio.Event()
    await emulator.start()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=status_interval_s)
            if on_status is not None:
                on_status(emulator.snapshot())
    finally:
        await emulator.stop()
