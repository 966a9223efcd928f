"""Telemetry addresses: what a user types, as a ZeroMQ endpoint."""

from __future__ import annotations

import pytest

from twin.telemetry import TelemetryError, normalise_address


def test_normalise_address_defaults_to_loopback():
    assert normalise_address("5556") == "tcp://127.0.0.1:5556"
    assert normalise_address(":5556") == "tcp://127.0.0.1:5556"
    assert normalise_address("tcp://0.0.0.0:5556") == "tcp://0.0.0.0:5556"  # said explicitly
    assert normalise_address("tcp://0.0.0.0:5556", connect=True) == "tcp://127.0.0.1:5556"
    assert normalise_address("tcp://127.0.0.1:0") == "tcp://127.0.0.1:*"
    with pytest.raises(TelemetryError, match="not a number"):
        normalise_address("tcp://127.0.0.1:http")
    with pytest.raises(TelemetryError, match="empty"):
        normalise_address(" ")


def test_other_transports_pass_through_and_a_subscriber_needs_a_port():
    assert normalise_address("ipc:///tmp/twin.sock") == "ipc:///tmp/twin.sock"
    assert normalise_address("inproc://twin") == "inproc://twin"
    assert normalise_address("*:5556", connect=True) == "tcp://127.0.0.1:5556"
    with pytest.raises(TelemetryError, match="needs a real port"):
        normalise_address("127.0.0.1:*", connect=True)
