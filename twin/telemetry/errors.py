"""The telemetry's two errors: an address that cannot be used, a message that cannot be read."""

from __future__ import annotations


class TelemetryError(Exception):
    """A telemetry address that cannot be used (malformed, or the port is taken)."""


class TelemetryFormatError(TelemetryError):
    """A received message that is not a twin.telemetry snapshot of a version this code reads."""
