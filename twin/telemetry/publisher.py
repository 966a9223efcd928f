"""The run side of live telemetry: a step observer that sends each step's snapshot on a PUB socket.

Never blocking the run: the PUB socket sends with NOBLOCK and a small send high-water mark
(`send_hwm` messages per subscriber). A PUB socket never waits for subscribers: with none, a
message is discarded at once; for a subscriber that lags, ZeroMQ drops messages beyond the HWM.
An observer must not raise: encoding errors are counted in `stats` and logged once, never
propagated into the run. What a snapshot says is twin.telemetry.snapshot; its bytes are
twin.telemetry.wire.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq

from twin.telemetry.address import normalise_address
from twin.telemetry.errors import TelemetryError
from twin.telemetry.snapshot import HilStatusSource, Step, StepContent, final_block
from twin.telemetry.violations_so_far import ViolationsSoFar
from twin.telemetry.wire import encode_snapshot

log = logging.getLogger(__name__)


@dataclass
class TelemetryStats:
    """What publishing cost and how much was lost.

    Attributes:
        sent: Messages handed to ZeroMQ.
        dropped: Messages refused at once (EAGAIN). ZeroMQ also drops silently per subscriber
            beyond the send HWM; those are not visible here.
        errors: Steps that could not be encoded (logged once; never raised into the run).
        busy_s: Wall time spent inside the observer, s.
        calls: Observer calls.
    """

    sent: int = 0
    dropped: int = 0
    errors: int = 0
    busy_s: float = 0.0
    calls: int = 0

    @property
    def mean_call_us(self) -> float:
        return 1e6 * self.busy_s / self.calls if self.calls else 0.0


class TelemetryPublisher:
    """Step observer that publishes a compact snapshot of every step (see twin.telemetry).

    Args:
        address: Where to bind, e.g. "tcp://127.0.0.1:5556" (loopback unless the address names
            another interface; "tcp://127.0.0.1:*" picks a free port, read it from `address`).
        prepared: The twin.run.world.PreparedRun being run; read are its scenario, fleets,
            powerflow (element ids), out_dir and grid_views (the running violation tally, if
            it has one: twin.telemetry.violations_so_far).
        hil_status: The run's hardware-loop status (PreparedRun.hil_status), called for each
            message sent; None (or a callable returning None) when there are no physical
            chargers. Best effort: if it raises, the message carries the recorded values only.
        send_hwm: Messages queued per subscriber before ZeroMQ drops; small, the dashboard wants
            only the newest.
        history_points: Upper bound of history rows carried in each message.
        close_linger_s: How long `close()` may wait to hand the last message to the network, s.
        min_interval_s: Least wall time between two messages, s. Steps in between still count
            in the KPIs and the history; only their encoding and sending is skipped (a dashboard
            redraws about once a second, and a virtual run makes hundreds of steps per second).
            0 publishes every step.

    Raises:
        TelemetryError: The address is malformed or cannot be bound (port in use).
    """

    def __init__(
        self,
        address: str,
        prepared: Any,
        *,
        hil_status: HilStatusSource | None = None,
        send_hwm: int = 8,
        history_points: int = 480,
        close_linger_s: float = 0.2,
        min_interval_s: float = 0.1,
    ):
        self.requested_address = address
        endpoint = normalise_address(address)
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUB)
        self._socket.setsockopt(zmq.SNDHWM, send_hwm)
        self._socket.setsockopt(zmq.LINGER, int(close_linger_s * 1000))
        try:
            self._socket.bind(endpoint)
        except zmq.ZMQError as err:
            self._socket.close(0)
            self._context.term()
            raise TelemetryError(
                f"telemetry address {endpoint}: cannot bind ({err.strerror}); "
                "choose a free port, e.g. --live tcp://127.0.0.1:5557"
            ) from None
        self.address: str = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.run_id = uuid.uuid4().hex[:12]
        self.stats = TelemetryStats()
        self.min_interval_s = min_interval_s
        pf = prepared.powerflow
        self._content = StepContent(
            prepared.scenario,
            prepared.fleets,
            {"bus": pf.bus_ids, "line": pf.line_ids, "trafo": pf.trafo_ids},
            prepared.out_dir,
            history_points,
            violations=ViolationsSoFar.of_run(prepared),
        )
        self._hil_status = hil_status
        self._seq = 0
        self._closed = False
        self._last_sent_s = -math.inf
        self._pending: Step | None = None
        self._last_step: Step | None = None

    # -- per step ----------------------------------------------------------------------------
    def __call__(self, row: dict[str, Any], detail: dict[str, np.ndarray]) -> None:
        """Account one step and publish it if due (observer protocol); never raises, never waits."""
        if self._closed:
            return
        t0 = time.perf_counter()
        try:
            step = self._content.account(row, detail)
            if t0 - self._last_sent_s >= self.min_interval_s:
                self._publish(step)
                self._last_sent_s = t0
                self._pending = None
            else:
                self._pending = step
        except Exception as err:  # noqa: BLE001 - an observer must never stop the run
            self.stats.errors += 1
            if self.stats.errors == 1:
                log.warning(
                    "telemetry: step not published (%s: %s); later failures are only counted",
                    type(err).__name__,
                    err,
                )
        self.stats.calls += 1
        self.stats.busy_s += time.perf_counter() - t0

    def _publish(
        self, step: Step, kind: str = "step", final: Mapping[str, Any] | None = None
    ) -> None:
        content = self._content
        assert content.meta is not None and content.history is not None
        self._seq += 1
        frame = encode_snapshot(
            kind=kind,
            run_id=self.run_id,
            seq=self._seq,
            sent_unix_s=time.time(),
            content=content.content(step, self._read_hil_status()),
            arrays=step.detail,
            history=content.history.block(),
            history_stride=content.history.stride,
            meta=content.meta,
            final=final,
        )
        self._last_step = step
        try:
            self._socket.send(frame, zmq.NOBLOCK)
            self.stats.sent += 1
        except zmq.Again:
            self.stats.dropped += 1

    def _read_hil_status(self) -> Mapping[str, Any] | None:
        if self._hil_status is None:
            return None
        try:
            return self._hil_status()
        except Exception as err:  # noqa: BLE001 - the lab link is best effort here
            log.debug("telemetry: hardware status not read (%s)", err)
            return {}

    # -- end of run --------------------------------------------------------------------------
    def close(self, summary: Mapping[str, Any] | None = None) -> None:
        """Send an "end" message (last step + final status and KPIs) and release the socket.

        Args:
            summary: The run's summary (summary.json's content, e.g. PreparedRun.summary), whose
                status, wall time and scalar KPIs the end message carries; None = status
                "unknown" (the run did not get as far as writing one).

        Waits at most `close_linger_s` for the network; safe to call twice.
        """
        if self._closed:
            return
        self._closed = True
        try:
            step = self._pending or self._last_step
            if step is not None:
                # A PUB socket drops the newest message when its queue is full; let a final
                # burst drain so the end message (the one a late dashboard keeps) gets through.
                time.sleep(0.05)
                self._publish(step, kind="end", final=final_block(summary))
        except Exception as err:  # noqa: BLE001 - closing must not mask the run's own outcome
            log.warning("telemetry: end message not sent (%s)", err)
        finally:
            self._socket.close()
            self._context.term()
