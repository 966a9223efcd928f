"""The subscriber on its own (a real SUB socket on 127.0.0.1, nobody publishing)."""

from __future__ import annotations

import socket

from twin.telemetry import TelemetrySubscriber


def test_subscriber_without_publisher_returns_none_and_recreates_its_socket():
    # a port nobody listens on: bind and release it
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    now = [100.0]
    sub = TelemetrySubscriber(f"127.0.0.1:{port}", reconnect_after_s=5.0, clock=lambda: now[0])
    try:
        assert sub.receive(timeout_s=0.05) is None
        assert sub.reconnects == 0
        now[0] += 6.0
        assert sub.receive(timeout_s=0.0) is None
        assert sub.reconnects == 1
        assert sub.silent_s == 0.0  # counted from the fresh socket
    finally:
        sub.close()
