"""Live telemetry: step snapshots of a running co-simulation over pyzmq PUB/SUB (for the dashboard).

The run side is `TelemetryPublisher`, a step observer (see twin.run.world.PreparedRun.observers):

    publisher = TelemetryPublisher("tcp://127.0.0.1:5556", prepared, hil_status=prepared.hil_status)
    prepared.observers.append(publisher)
    prepared.run(...)
    publisher.close(prepared.summary)

The dashboard side is `TelemetrySubscriber(address).receive()`, which returns the newest snapshot.

One job per module: `address` (what a user types -> a ZeroMQ endpoint), `wire` (the message
format, schema ``twin.telemetry`` v1: encode and `decode_snapshot`), `snapshot` (what a step's
message says, read from the recorded row through twin.results.columns), `kpis_so_far` (running
KPIs), `violations_so_far` (the run's grid violation tally, never ahead of the step), `history` (the bounded history each message carries), `publisher` (the PUB socket, never
blocking the run), `subscriber` (the SUB socket), `errors`.
"""

from twin.telemetry.address import DEFAULT_ADDRESS, normalise_address
from twin.telemetry.errors import TelemetryError, TelemetryFormatError
from twin.telemetry.publisher import TelemetryPublisher, TelemetryStats
from twin.telemetry.subscriber import TelemetrySubscriber
from twin.telemetry.wire import Snapshot, decode_snapshot

__all__ = [
    "DEFAULT_ADDRESS",
    "Snapshot",
    "TelemetryError",
    "TelemetryFormatError",
    "TelemetryPublisher",
    "TelemetryStats",
    "TelemetrySubscriber",
    "decode_snapshot",
    "normalise_address",
]
