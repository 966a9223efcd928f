"""The `modbus` entry of adapters.registry: one Modbus TCP client per charger, driven by a map.

Nothing heavy is imported at module level (`twin validate` calls `binding_problems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.registry import BoundCharger, HardwareContext, ProtocolHardware


def binding_problems(binding: Any) -> list[tuple[str, str]]:
    """A Modbus binding needs `port` and `map` (the register map of the charger)."""
    if binding.port is None or binding.map is None:
        return [
            ("port" if binding.port is None else "map", "a Modbus binding needs `port` and `map`")
        ]
    # The map is loaded the way the run loads it (a shipped name or a path from the working
    # directory), so a missing or broken map is a validate error, not a failure at lab start.
    from adapters.modbus.register_map import RegisterMapError, load_register_map

    try:
        load_register_map(binding.map)
    except RegisterMapError as err:
        where = "" if err.field.startswith("<") else f" at {err.field}"
        return [("map", f"register map {err.path}{where}: {err.problem}")]
    return []


def build(chargers: Sequence[BoundCharger], context: HardwareContext) -> ProtocolHardware:
    """One `ModbusChargerAdapter` per charger (no server: the charger is the Modbus server)."""
    from adapters.modbus.client_adapter import ModbusChargerAdapter

    return ProtocolHardware(
        adapters=[
            ModbusChargerAdapter(
                c.binding.host, c.binding.port, c.binding.map, charger_id=c.charger_id
            )
            for c in chargers
        ]
    )
