"""The dashboard side of live telemetry: the newest snapshot of a run, over a SUB socket."""

from __future__ import annotations

import time

import zmq

from twin.telemetry.address import normalise_address
from twin.telemetry.errors import TelemetryFormatError
from twin.telemetry.wire import Snapshot, decode_snapshot


class TelemetrySubscriber:
    """Receives the newest snapshot from a publisher; reconnects by itself.

    The socket sets CONFLATE, so it only ever holds the newest step (each snapshot carries the
    run's history so far, so nothing is lost by skipping). ZeroMQ reconnects a SUB socket when
    the publisher comes back (a run restarted on the same address); on top of that, after
    `reconnect_after_s` of silence the socket is recreated, so a dashboard also recovers from a
    half-open connection. A new run shows up as a new `run_id`.

    Args:
        address: The publisher's address ("tcp://127.0.0.1:5556", "127.0.0.1:5556" or "5556").
        reconnect_after_s: Silence after which the socket is recreated, s.
        clock: Monotonic clock, s (injected for tests).
    """

    def __init__(self, address: str, *, reconnect_after_s: float = 5.0, clock=time.monotonic):
        self.endpoint = normalise_address(address, connect=True)
        self.reconnect_after_s = reconnect_after_s
        self.clock = clock
        self.latest: Snapshot | None = None
        self.bad_messages = 0
        self.reconnects = 0
        self._context = zmq.Context()
        self._socket: zmq.Socket | None = None
        self._open()

    def _open(self) -> None:
        sock = self._context.socket(zmq.SUB)
        sock.setsockopt(zmq.CONFLATE, 1)  # keep only the newest step; set before connect
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(self.endpoint)
        self._socket = sock
        self._opened_s = self.clock()

    def reconnect(self) -> None:
        """Drop the socket and connect a fresh one."""
        if self._socket is not None:
            self._socket.close(0)
        self.reconnects += 1
        self._open()

    @property
    def silent_s(self) -> float:
        """Seconds since the last message (or since connecting, if none arrived yet)."""
        last = self.latest.received_s if self.latest is not None else 0.0
        return self.clock() - max(self._opened_s, last)

    def receive(self, timeout_s: float = 0.0) -> Snapshot | None:
        """Newest snapshot that arrived since the last call, waiting up to `timeout_s` for one.

        Returns:
            The snapshot, or None when nothing new arrived (`latest` keeps the previous one).
        """
        assert self._socket is not None, "subscriber is closed"
        frame = None
        if self._socket.poll(int(max(0.0, timeout_s) * 1000), zmq.POLLIN):
            while True:  # drain: with CONFLATE there is at most one, but be robust without it
                try:
                    frame = self._socket.recv(zmq.NOBLOCK, copy=True)
                except zmq.Again:
                    break
        if frame is None:
            if self.silent_s > self.reconnect_after_s:
                self.reconnect()
            return None
        try:
            snap = decode_snapshot(frame, received_s=self.clock())
        except TelemetryFormatError:
            self.bad_messages += 1
            return None
        self.latest = snap
        return snap

    def close(self) -> None:
        """Close the socket; never waits."""
        if self._socket is not None:
            self._socket.close(0)
            self._socket = None
        self._context.term()
