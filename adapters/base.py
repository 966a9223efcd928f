"""The seam between the twin and a charger: one small async protocol for every charger kind.

Sign convention (stated once, used everywhere): power in kW, positive = charging the EV
(import from the grid), negative = discharging (export, V2G).

An adapter is driven from an asyncio loop that is *not* the mosaik step: the hardware simulator
only exchanges the latest set-point and the latest reading with it (see `adapters.bridge`), so
slow or dead hardware never blocks a co-simulation step.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class ChargerStatus(enum.StrEnum):
    """Charger state as the twin needs it (coarser than OCPP/IEC 61851 states)."""

    AVAILABLE = "available"  # online, no EV plugged
    PLUGGED = "plugged"  # EV connected, not drawing power
    CHARGING = "charging"
    DISCHARGING = "discharging"
    SUSPENDED = "suspended"  # EV or charger paused the session
    FAULTED = "faulted"
    OFFLINE = "offline"  # no link to the charger


@dataclass(frozen=True, slots=True)
class ChargerReading:
    """One measurement from a charger.

    Attributes:
        power_kw: measured active power, + charge / - discharge.
        energy_kwh: energy meter register (import minus export where known), kWh.
        soc: EV state of charge 0..1, or None if the charger does not know it.
        status: coarse state.
        timestamp_s: monotonic time of the measurement, seconds (clock of the adapter's loop).
    """

    power_kw: float
    energy_kwh: float
    soc: float | None
    status: ChargerStatus
    timestamp_s: float


class AdapterError(Exception):
    """Base class of named adapter failures (carry what the user must fix)."""


class ChargerUnavailable(AdapterError):
    """The charger is not connected (never came, disconnected, or timed out)."""


class SetpointRejected(AdapterError):
    """The charger answered but refused the set-point (Rejected, NotSupported, CALLERROR)."""


@runtime_checkable
class ChargerAdapter(Protocol):
    """What the twin needs of any charger, simulated or physical (evcc-style small interface)."""

    charger_id: str
    """Identity used in scenarios and results (OCPP identity, Modbus host:port/unit, ...)."""

    can_discharge: bool
    """True if negative set-points are supported by charger and protocol."""

    async def connect(self) -> None:
        """Open the link (or wait for the charger to connect); raises ChargerUnavailable."""

    async def set_power(self, power_kw: float) -> None:
        """Command a power set-point in kW (+ charge, - discharge); raises SetpointRejected."""

    async def read(self) -> ChargerReading:
        """Latest measurement; raises ChargerUnavailable when the link is down."""

    async def close(self) -> None:
        """Release the set-point (back to the charger's default) and close the link."""
