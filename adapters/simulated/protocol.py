"""The `simulated` entry of adapters.registry: a software charger on the hardware path.

Bound like a physical charger (`adapter: simulated`), it runs behind the same bridge as OCPP and
Modbus chargers, with the replaced charger's limits and response time and the wall clock as its
time base: a lab rehearsal of the HIL path with no network. `id` names its results columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.registry import BoundCharger, HardwareContext, ProtocolHardware

DEFAULT_MAX_KW = 6.0
"""Charging limit when the replaced charger's spec is not known, kW."""


def binding_problems(binding: Any) -> list[tuple[str, str]]:
    """A simulated binding needs `id` (the name its readings are recorded under)."""
    if not binding.id:
        return [("id", "a simulated binding needs `id` (the name its readings are recorded under)")]
    return []


def build(chargers: Sequence[BoundCharger], context: HardwareContext) -> ProtocolHardware:
    """One `SimulatedCharger` per binding, on the wall clock (the bridge's time base)."""
    import time

    from adapters.simulated.charger import SimulatedCharger

    adapters = []
    for c in chargers:
        spec = c.charger
        max_kw = float(getattr(spec, "max_kw", DEFAULT_MAX_KW))
        bidirectional = bool(getattr(spec, "bidirectional", False))
        adapters.append(
            SimulatedCharger(
                c.charger_id,
                max_kw,
                time.monotonic,
                max_discharge_kw=max_kw if bidirectional else 0.0,
                # response_time_s is the time to ~95 % of a step: three time constants.
                time_constant_s=float(getattr(spec, "response_time_s", 0.0)) / 3.0,
            )
        )
    return ProtocolHardware(adapters=adapters)
