"""Engineering values <-> Modbus registers for one map point (type, word order, scaling).

Shared by the adapter (decode what it reads, encode what it writes) and the emulator (the
reverse), so both sides agree by construction; the tests check the wire format against
hand-computed register values instead of round-tripping through this module only.
"""

from __future__ import annotations

import math

from pymodbus.client import ModbusTcpClient

from adapters.modbus.register_map import PointSpec

_DT = ModbusTcpClient.DATATYPE
_DATATYPES = {
    "uint16": _DT.UINT16,
    "int16": _DT.INT16,
    "uint32": _DT.UINT32,
    "int32": _DT.INT32,
    "uint64": _DT.UINT64,
    "float32": _DT.FLOAT32,
    "float64": _DT.FLOAT64,
}
_INT_RANGES = {
    "uint16": (0, 2**16 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint32": (0, 2**32 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint64": (0, 2**64 - 1),
}


class PointValueError(ValueError):
    """A value does not fit the point's type or register count."""


def point_multiplier(point: PointSpec, scale_factor: int | None) -> float:
    """Engineering value per raw count: scale x 10**sunssf (sunssf 0 when not used)."""
    exponent = scale_factor if (point.scale_factor is not None and scale_factor is not None) else 0
    return point.scale * (10.0**exponent)


def encode_ascii(point: PointSpec, text: str) -> list[int]:
    """Text -> registers, NUL padded to the point's register count as `ascii_align` says."""
    width = 2 * point.register_count
    data = text.encode("ascii")
    if len(data) > width:
        raise PointValueError(f"'{text}' does not fit {point.register_count} registers")
    padded = (
        data.ljust(width, b"\x00") if point.ascii_align == "left" else data.rjust(width, b"\x00")
    )
    return [int.from_bytes(padded[i : i + 2], "big") for i in range(0, width, 2)]


def decode_ascii(registers: list[int]) -> str:
    """Registers -> text with NUL and blank padding removed on both sides."""
    data = b"".join(int(r).to_bytes(2, "big") for r in registers)
    return data.replace(b"\x00", b"").decode("ascii", errors="replace").strip()


def raw_from_registers(point: PointSpec, registers: list[int]) -> int | float | str:
    """Registers -> raw (unscaled) value of the point's type."""
    if len(registers) != point.register_count:
        raise PointValueError(f"expected {point.register_count} registers, got {len(registers)}")
    if point.type == "ascii":
        return decode_ascii(registers)
    if point.type == "bool":
        return int(bool(registers[0]))
    return ModbusTcpClient.convert_from_registers(
        registers, _DATATYPES[point.type], word_order=point.word_order
    )


def registers_from_raw(point: PointSpec, raw: int | float | str) -> list[int]:
    """Raw (unscaled) value -> registers; integers are range-checked, not wrapped."""
    if point.type == "ascii":
        return encode_ascii(point, str(raw))
    if point.type == "bool":
        return [int(bool(raw))]
    if point.type in _INT_RANGES:
        low, high = _INT_RANGES[point.type]
        value = int(raw)
        if not low <= value <= high:
            raise PointValueError(f"{value} is outside {point.type} range {low}..{high}")
        return ModbusTcpClient.convert_to_registers(
            value, _DATATYPES[point.type], word_order=point.word_order
        )
    return ModbusTcpClient.convert_to_registers(
        float(raw), _DATATYPES[point.type], word_order=point.word_order
    )


def decode_value(point: PointSpec, registers: list[int], scale_factor: int | None = None) -> float:
    """Registers -> engineering value (raw x scale x 10**sunssf)."""
    raw = raw_from_registers(point, registers)
    if isinstance(raw, str):
        raise PointValueError("ascii points have no numeric value; use raw_from_registers")
    return float(raw) * point_multiplier(point, scale_factor)


def encode_value(point: PointSpec, value: float, scale_factor: int | None = None) -> list[int]:
    """Engineering value -> registers; integer types round half away from zero.

    Raises:
        PointValueError: the value is not finite or does not fit the type.
    """
    if not math.isfinite(value):
        raise PointValueError(f"{value} is not a finite number")
    raw = value / point_multiplier(point, scale_factor)
    if point.type in _INT_RANGES:
        # Round half away from zero so 15.9 A -> 15900 mA exactly despite binary fractions.
        raw = math.copysign(math.floor(abs(raw) + 0.5 + 1e-9), raw)
    return registers_from_raw(point, raw)
