"""Telemetry addresses: what a user types (`--live 5556`) as a ZeroMQ endpoint, loopback by default."""

from __future__ import annotations

from twin.telemetry.errors import TelemetryError

DEFAULT_ADDRESS = "tcp://127.0.0.1:5556"


def normalise_address(address: str, *, connect: bool = False) -> str:
    """Turn what a user types into a ZeroMQ endpoint; loopback unless the address says otherwise.

    Args:
        address: "tcp://host:port", "host:port" or just "port" ("*" or "0" = any free port when
            binding); ipc:// and inproc:// endpoints pass through unchanged.
        connect: True for the subscriber side, where a wildcard host means this machine.

    Returns:
        A ZeroMQ endpoint string.

    Raises:
        TelemetryError: The address is empty or its port is not a number.
    """
    text = (address or "").strip()
    if not text:
        raise TelemetryError("telemetry address is empty: use e.g. tcp://127.0.0.1:5556")
    if text.startswith(("ipc://", "inproc://")):
        return text
    rest = text[len("tcp://") :] if text.startswith("tcp://") else text
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = "", rest
    host = host or "127.0.0.1"
    if connect and host in ("*", "0.0.0.0"):
        host = "127.0.0.1"
    if port == "0":
        port = "*"
    if port != "*" and not port.isdigit():
        raise TelemetryError(
            f"telemetry address '{address}': port '{port}' is not a number "
            "(use e.g. tcp://127.0.0.1:5556)"
        )
    if connect and port == "*":
        raise TelemetryError(
            f"telemetry address '{address}': a subscriber needs a real port, not '*'"
        )
    return f"tcp://{host}:{port}"
