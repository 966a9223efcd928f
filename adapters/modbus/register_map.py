"""Vendor register maps as data: one YAML file per product in `adapters/modbus/maps/`.

A map says *where* things are (table, address, type, word order, scale) and *what they mean*
(set-point semantics, pause value, status decoding, heartbeat and expiry, failsafe). The generic
Modbus adapter and the device emulator both read the same map, so a new charger is one data file.

Loading validates the file with pydantic; a broken file raises `RegisterMapError(path, field,
problem)` naming the first thing the author must fix.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adapters.base import AdapterError, ChargerStatus

MAPS_DIR = Path(__file__).parent / "maps"

PointRole = Literal[
    "power_w",
    "energy_import_wh",
    "energy_export_wh",
    "soc_pct",
    "current_limit_a",
    "phase_current_a",
    "voltage_v",
    "setpoint_remaining_s",
    "battery_capacity_wh",
    "available_energy_wh",
]
"""Physical meaning of a read-only point, used by the emulator to serve it."""

PointType = Literal[
    "bool", "uint16", "int16", "uint32", "int32", "uint64", "float32", "float64", "ascii"
]

REGISTERS_PER_TYPE: dict[str, int] = {
    "bool": 1,
    "uint16": 1,
    "int16": 1,
    "uint32": 2,
    "int32": 2,
    "uint64": 4,
    "float32": 2,
    "float64": 4,
}


class RegisterMapError(AdapterError):
    """A register map file is missing or invalid.

    Attributes:
        path: the map file (or the name that was asked for).
        field: dotted location of the problem inside the file.
        problem: what is wrong, in words the map author can act on.
    """

    def __init__(self, path: str | Path, field: str, problem: str) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        super().__init__(f"register map {self.path}: {field}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointSpec(_Strict):
    """One data point: a coil or a run of registers holding one value.

    Attributes:
        table: `holding` (FC 3/6/16), `input` (FC 4) or `coil` (FC 1/5/15).
        address: zero-based protocol address (what goes on the wire, not 4xxxx notation).
        type: value type; `ascii` needs `count` registers, `bool` is for coils.
        count: number of registers of an `ascii` point.
        word_order: `big` = high word first, `little` = low word first (32/64-bit types).
        scale: engineering value = raw x scale (e.g. 0.001 for mA -> A).
        scale_factor: name of a SunSpec `sunssf` point; engineering = raw x 10**sf x scale.
        unit: engineering unit after scaling (documentation; A, W, Wh, %, s).
        access: `r`, `w` or `rw` as seen by a Modbus client.
        value: constant the emulator serves (model ids, markers, scale factors, ratings).
        ascii_align: `left` = text first then NUL padding (Alfen "C2"); `right` = NUL
            padding first (Phoenix: state letter in the low byte of one register).
        role: what a read-only point measures, so the emulator can serve it.
    """

    table: Literal["holding", "input", "coil"]
    address: int = Field(ge=0, le=65535)
    type: PointType = "uint16"
    count: int | None = Field(default=None, ge=1, le=125)
    word_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    scale_factor: str | None = None
    unit: str = ""
    access: Literal["r", "w", "rw"] = "r"
    value: int | float | str | None = None
    ascii_align: Literal["left", "right"] = "left"
    role: PointRole | None = None
    description: str = ""

    @property
    def register_count(self) -> int:
        """Registers (or coils) this point occupies."""
        if self.type == "ascii":
            return self.count or 1
        return REGISTERS_PER_TYPE[self.type]

    @property
    def writable(self) -> bool:
        """True if a Modbus client may write it."""
        return "w" in self.access

    @property
    def readable(self) -> bool:
        """True if a Modbus client may read it."""
        return "r" in self.access

    @model_validator(mode="after")
    def _check_shape(self) -> PointSpec:
        if self.table == "coil" and self.type != "bool":
            raise ValueError("a coil point must have type bool")
        if self.type == "bool" and self.table != "coil":
            raise ValueError("type bool is only for coils; use uint16 for a register flag")
        if self.type == "ascii" and self.count is None:
            raise ValueError("an ascii point needs count (number of registers)")
        if self.type != "ascii" and self.count is not None:
            raise ValueError("count is only for ascii points")
        if self.table == "input" and self.writable:
            raise ValueError("input registers are read-only: use access r")
        if self.address + self.register_count > 65536:
            raise ValueError("point runs past address 65535")
        if self.scale == 0 or not math.isfinite(self.scale):
            raise ValueError("scale must be a finite non-zero number")
        return self


class ElectricalSpec(_Strict):
    """How a current set-point turns into power (AC chargers).

    Attributes:
        phases: number of phases the EV charges on (1 or 3).
        voltage_v: phase-to-neutral voltage, V.
        min_current_a: IEC 61851 minimum current; below it the charger pauses, A.
        max_current_a: rated current of the charger, A.
        current_step_a: resolution of the set-point register, A.
    """

    phases: Literal[1, 3] = 3
    voltage_v: float = Field(default=230.0, gt=0)
    min_current_a: float = Field(default=6.0, ge=0)
    max_current_a: float = Field(gt=0)
    current_step_a: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _check_range(self) -> ElectricalSpec:
        if self.min_current_a > self.max_current_a:
            raise ValueError("min_current_a is above max_current_a")
        return self


class SetpointSpec(_Strict):
    """What the adapter writes and how the device treats it.

    Attributes:
        quantity: `current_a` (AC, per-phase current limit) or `power_w` (DC/DER power).
        point: the point that receives the set-point.
        pause_value: value written to `point` to pause charging (engineering unit).
        enable_point: optional coil/register written 1 to charge and 0 to pause.
        enable_value: value written to `enable_point` when the set-point is active.
        power_sign: `import_positive` (+ = charging) or `export_positive` (SunSpec DER:
            + = injection, so discharging the EV writes a positive W).
        max_power_w: rated power for `power_w` set-points, W (both directions).
        expiry_s: seconds after the last refresh when the device drops to its failsafe.
        refresh_by: what counts as a refresh: rewriting the set-point, writing the alive
            register, or any Modbus request (ABB: polling keeps the session alive).
        alive_point, alive_value: heartbeat register and the value written to it.
        failsafe_current_a / failsafe_power_w: what the device falls back to.
        failsafe_point: register holding the failsafe value (emulator honours it).
        expiry_point: register holding the expiry in seconds (emulator honours it).
        config_writes: point -> value written once on every (re)connect.
    """

    quantity: Literal["current_a", "power_w"]
    point: str
    pause_value: float = 0.0
    enable_point: str | None = None
    enable_value: int = 1
    power_sign: Literal["import_positive", "export_positive"] = "import_positive"
    max_power_w: float | None = Field(default=None, gt=0)
    expiry_s: float = Field(gt=0)
    refresh_by: Literal["setpoint_write", "alive_write", "any_request"] = "setpoint_write"
    alive_point: str | None = None
    alive_value: int = 1
    failsafe_current_a: float | None = Field(default=None, ge=0)
    failsafe_power_w: float | None = None
    failsafe_point: str | None = None
    expiry_point: str | None = None
    config_writes: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_semantics(self) -> SetpointSpec:
        if self.refresh_by == "alive_write" and self.alive_point is None:
            raise ValueError("refresh_by alive_write needs alive_point")
        if self.quantity == "current_a" and self.failsafe_current_a is None:
            raise ValueError("a current set-point needs failsafe_current_a")
        if self.quantity == "power_w":
            if self.failsafe_power_w is None:
                raise ValueError("a power set-point needs failsafe_power_w")
            if self.max_power_w is None:
                raise ValueError("a power set-point needs max_power_w")
        return self


class StatusRule(_Strict):
    """Decode one point into a state; the first rule whose value is listed wins.

    Attributes:
        point: point to read.
        shift, mask: for integers, key = (raw >> shift) & mask (ABB packs state in a byte).
        states: decoded key (as text: "C2", "4") -> ChargerStatus.
    """

    point: str
    shift: int = Field(default=0, ge=0, le=63)
    mask: int | None = Field(default=None, ge=0)
    states: dict[str, ChargerStatus]

    @field_validator("states", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        # YAML reads `4: charging` with an int key; decoded register values are compared as text.
        if isinstance(value, dict):
            return {str(key): state for key, state in value.items()}
        return value


class StatusSpec(_Strict):
    """Status decoding and, for the emulator, how IEC 61851 states are encoded.

    Attributes:
        rules: ordered decoding rules.
        default: status when no rule matches.
        iec61851: IEC 61851 state letter -> {point: decoded key} the emulator serves
            (A: no EV, B: EV connected not charging, C: charging, E/F: fault).
    """

    rules: list[StatusRule] = Field(min_length=1)
    default: ChargerStatus = ChargerStatus.FAULTED
    iec61851: dict[Literal["A", "B", "C", "E", "F"], dict[str, str | int]]

    @model_validator(mode="after")
    def _check_encoding(self) -> StatusSpec:
        missing = {"A", "B", "C"} - set(self.iec61851)
        if missing:
            raise ValueError(f"iec61851 must give states {sorted(missing)}")
        return self


class MeasurementSpec(_Strict):
    """Which points carry the readings (engineering units W, Wh, %).

    Attributes:
        power_point: active power, W (sign per `setpoint.power_sign`).
        energy_point: imported energy, Wh.
        energy_export_point: exported energy, Wh (bidirectional devices).
        soc_point: EV state of charge, %.
        soc_absent_raw: raw value meaning "SoC not known" (SunSpec not-implemented 0xFFFF).
    """

    power_point: str
    energy_point: str
    energy_export_point: str | None = None
    soc_point: str | None = None
    soc_absent_raw: int | None = None


class RegisterMap(_Strict):
    """One vendor product's Modbus register map (see module docstring)."""

    name: str
    vendor: str
    product: str
    sources: list[str] = Field(default_factory=list)
    notes: str = ""
    unit_id: int = Field(ge=0, le=255)
    can_discharge: bool = False
    electrical: ElectricalSpec | None = None
    setpoint: SetpointSpec
    status: StatusSpec
    measurements: MeasurementSpec
    points: dict[str, PointSpec] = Field(min_length=1)

    def point(self, name: str) -> PointSpec:
        """The point called `name` (KeyError if absent; references are validated on load)."""
        return self.points[name]

    @model_validator(mode="after")
    def _check_references(self) -> RegisterMap:
        sp = self.setpoint
        refs: list[tuple[str, str | None]] = [
            ("setpoint.point", sp.point),
            ("setpoint.enable_point", sp.enable_point),
            ("setpoint.alive_point", sp.alive_point),
            ("setpoint.failsafe_point", sp.failsafe_point),
            ("setpoint.expiry_point", sp.expiry_point),
            ("measurements.power_point", self.measurements.power_point),
            ("measurements.energy_point", self.measurements.energy_point),
            ("measurements.energy_export_point", self.measurements.energy_export_point),
            ("measurements.soc_point", self.measurements.soc_point),
        ]
        refs += [(f"setpoint.config_writes.{n}", n) for n in sp.config_writes]
        refs += [(f"status.rules[{i}].point", r.point) for i, r in enumerate(self.status.rules)]
        for letter, enc in self.status.iec61851.items():
            refs += [(f"status.iec61851.{letter}.{n}", n) for n in enc]
        refs += [(f"points.{n}.scale_factor", p.scale_factor) for n, p in self.points.items()]
        for where, name in refs:
            if name is not None and name not in self.points:
                raise ValueError(f"{where} names point '{name}', which is not in points")
        for where, name in [
            ("setpoint.point", sp.point),
            ("setpoint.enable_point", sp.enable_point),
            ("setpoint.alive_point", sp.alive_point),
        ]:
            if name is not None and not self.points[name].writable:
                raise ValueError(f"{where} '{name}' must be writable (access w or rw)")
        for name in sp.config_writes:
            if not self.points[name].writable:
                raise ValueError(f"setpoint.config_writes '{name}' must be writable")
            if name == sp.expiry_point:
                raise ValueError(
                    f"setpoint.config_writes '{name}' is the expiry_point; the adapter writes "
                    "its own expiry there"
                )
        for name, p in self.points.items():
            if p.scale_factor is not None and self.points[p.scale_factor].type != "int16":
                raise ValueError(f"points.{name}.scale_factor must name an int16 point")
        m = self.measurements
        for where, name, role in [
            ("measurements.power_point", m.power_point, "power_w"),
            ("measurements.energy_point", m.energy_point, "energy_import_wh"),
            ("measurements.energy_export_point", m.energy_export_point, "energy_export_wh"),
            ("measurements.soc_point", m.soc_point, "soc_pct"),
        ]:
            if name is not None and self.points[name].role != role:
                raise ValueError(f"{where} '{name}' must have role {role}")
        if sp.quantity == "current_a" and self.electrical is None:
            raise ValueError("a current set-point needs the electrical section")
        if self.can_discharge and sp.quantity != "power_w":
            raise ValueError("can_discharge needs a power_w set-point (signed power)")
        self._check_overlaps()
        return self

    def _check_overlaps(self) -> None:
        spans = sorted(
            (p.table, p.address, p.address + p.register_count, n) for n, p in self.points.items()
        )
        for (t1, _a1, e1, n1), (t2, a2, _e2, n2) in zip(spans, spans[1:], strict=False):
            if t1 == t2 and a2 < e1:
                raise ValueError(f"points '{n1}' and '{n2}' overlap in the {t1} table")


def available_map_names() -> list[str]:
    """Names of the map files shipped in `adapters/modbus/maps/` (without `.yaml`)."""
    return sorted(p.stem for p in MAPS_DIR.glob("*.yaml"))


def resolve_map_path(name_or_path: str | Path) -> Path:
    """Map name (`phoenix_charx`) or file path -> path; raises RegisterMapError if absent."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.parent != Path("."):
        if not candidate.is_file():
            raise RegisterMapError(candidate, "<file>", "file not found")
        return candidate
    shipped = MAPS_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        raise RegisterMapError(
            name_or_path,
            "<name>",
            f"no such map; known maps: {', '.join(available_map_names())}",
        )
    return shipped


def load_register_map(name_or_path: str | Path) -> RegisterMap:
    """Load and validate a register map by shipped name or file path.

    Args:
        name_or_path: e.g. `"alfen_eve"` or `Path("lab/my_charger.yaml")`.

    Returns:
        The validated map.

    Raises:
        RegisterMapError: file missing, not YAML, or not a valid map (first problem named).
    """
    path = resolve_map_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "<yaml>"
        raise RegisterMapError(
            path, where, f"not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if not isinstance(raw, dict):
        raise RegisterMapError(path, "<root>", "the file must be a mapping of map fields")
    try:
        return RegisterMap.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "<root>"
        problem = first["msg"].removeprefix("Value error, ")
        raise RegisterMapError(path, field, problem) from None
