"""Non-blocking exchange between a mosaik step and chargers that live on an asyncio loop.

A mosaik simulator step must never wait for hardware. `HardwareBridge` runs one task per charger
on its own asyncio loop (a background thread, or a loop the caller already runs, e.g. mosaik's
AsyncWorld next to the CSMS). The step only swaps plain values with it:

    bridge.submit_setpoints({"CP001": 7.4})   # latest wins, returns at once
    bridge.latest_readings()                  # {"CP001": ChargerReading | None}
    bridge.events()                           # drained list of link/set-point events
    bridge.status()                           # {"CP001": "online" | "offline" | ...}

Adapters must run on the loop that owns their connections. The bridge is the owner of that
loop: by default it runs its own in a daemon thread, and the servers the adapters need are
passed as `services` (e.g. `HardwareBridge(adapters, services=[central_system])`), started on
that loop before and stopped after the chargers. A HIL run does exactly this
(twin.run.hardware_link: adapters and services from adapters.registry). Only a caller that
already runs a loop (e.g. mosaik's AsyncWorld) gives it with `loop=` and uses `await astart()` /
`await astop()` from it.

A charger that fails (ChargerUnavailable, timeout, transport error) is marked offline, its
reading becomes None, and the worker keeps trying to reconnect; once back, the latest set-point
is sent again (re-synchronisation). A refused set-point (Rejected, NotSupported, CALLERROR) leaves
the link up but makes the charger `degraded` until it accepts a set-point again: its measurements
still count, but a controller should not count on it following commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from adapters.base import (
    AdapterError,
    ChargerAdapter,
    ChargerReading,
    ChargerUnavailable,
    SetpointRejected,
)

LOGGER = logging.getLogger(__name__)


class AsyncService(Protocol):
    """Something with an async life cycle that adapters depend on (e.g. a CSMS server)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BridgeError(AdapterError):
    """The bridge was used wrongly (message says how to fix the call)."""


class LinkState:
    """Link states reported by `HardwareBridge.status()`."""

    CONNECTING = "connecting"  # never connected yet
    ONLINE = "online"
    DEGRADED = "degraded"  # connected and measured, but it refused its latest set-point
    OFFLINE = "offline"  # was lost (or never came within connect_timeout_s); retrying
    STOPPED = "stopped"


CONNECTED_STATES = frozenset({LinkState.ONLINE, LinkState.DEGRADED})
"""Link states in which the charger is reachable and measured."""


class EventKind:
    """Kinds of events returned by `HardwareBridge.events()`."""

    CONNECT = "connect"  # first successful connection
    DISCONNECT = "disconnect"  # link lost (ChargerUnavailable / transport error)
    TIMEOUT = "timeout"  # a call or the connection attempt ran out of time
    REJECTED = "rejected"  # set-point refused (Rejected / NotSupported status) -> degraded
    CALLERROR = (
        "callerror"  # set-point answered with a protocol error (e.g. OCPP CALLERROR) -> degraded
    )
    RECOVERED = "recovered"  # a degraded charger accepted a set-point again
    RECONNECT = "reconnect"  # link back after being offline
    RESYNC = "resync"  # latest set-point re-sent after a reconnect
    ERROR = "error"  # unexpected exception in an adapter (bug); worker keeps going
    LIMITS = "limits"  # the DSO envelope's share sent as the charger's own standing limit
    LIMITS_REFUSED = "limits_refused"  # the charger cannot hold such a limit (e.g. not OCPP 2.1)


@dataclass
class _ChargerState:
    """Per-charger mutable state (guarded by the bridge's lock except `wake`)."""

    adapter: ChargerAdapter
    link: str = LinkState.CONNECTING
    ever_online: bool = False
    pending_kw: float | None = None  # submitted, not yet sent
    last_sent_kw: float | None = None  # last value the charger accepted or was sent
    reading: ChargerReading | None = None
    wake: asyncio.Event | None = None
    refusals: int = 0  # set-points refused (Rejected, NotSupported, CALLERROR) so far
    sent: int = 0  # set-points sent to the charger (answered or not)
    accepted: int = 0  # set-points the charger accepted
    refused_at_s: float = 0.0  # clock time of the latest refusal
    pending_limits: tuple[float, float] | None = None  # (import_kw, export_kw) not yet sent
    limits_refused: bool = False  # the charger said it cannot hold limits: not asked again
    limits_sent: int = 0


class HardwareBridge:
    """Runs charger adapters on an asyncio loop and exposes non-blocking exchange methods.

    Args:
        adapters: the chargers, identified by their `charger_id` (must be unique).
        loop: an existing event loop to run on; None = a dedicated loop in a daemon thread.
        poll_interval_s: time between reads of each charger, s.
        call_timeout_s: bound on any single adapter call (set_power, read, close), s.
        connect_timeout_s: bound on one connection attempt, s.
        retry_interval_s: pause between connection attempts of an offline charger, s.
        clock: monotonic clock for event timestamps, s (injectable for tests).
        wall_clock: wall clock for event timestamps, s since the epoch.
        services: things the adapters need running on the same loop, started before the
            workers and stopped after the adapters are closed (e.g. an OCPP CentralSystem).
        recovery_s: a degraded charger is online again once it accepts set-points this long
            after its last refusal, s (a controller that plans it out sends it 0 kW, which it
            may accept at once; without the hold it would flap every step).

    Raises:
        BridgeError: duplicate or empty charger ids, non-positive intervals.
    """

    def __init__(
        self,
        adapters: Iterable[ChargerAdapter],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        poll_interval_s: float = 0.5,
        call_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        retry_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        services: Sequence[AsyncService] = (),
        recovery_s: float = 30.0,
    ) -> None:
        states: dict[str, _ChargerState] = {}
        for adapter in adapters:
            if not adapter.charger_id:
                raise BridgeError("every adapter needs a non-empty charger_id")
            if adapter.charger_id in states:
                raise BridgeError(
                    f"charger id {adapter.charger_id!r} appears twice; ids must be unique"
                )
            states[adapter.charger_id] = _ChargerState(adapter=adapter)
        for name, value in (
            ("poll_interval_s", poll_interval_s),
            ("call_timeout_s", call_timeout_s),
            ("connect_timeout_s", connect_timeout_s),
            ("retry_interval_s", retry_interval_s),
        ):
            if not value > 0:
                raise BridgeError(f"{name} must be > 0 (got {value})")
        self._states = states
        self._given_loop = loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None  # the loop of `_thread`
        self._tasks: list[asyncio.Task] = []
        self._lock = threading.Lock()
        self._events: list[dict] = []
        self._poll_interval_s = poll_interval_s
        self._call_timeout_s = call_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._retry_interval_s = retry_interval_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._running = False
        self._services = list(services)
        self._recovery_s = recovery_s

    # -- life cycle (callable from any thread) --------------------------------------------

    @property
    def charger_ids(self) -> list[str]:
        """Ids of the chargers this bridge drives."""
        return list(self._states)

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the services, then one worker per charger; does not wait for any charger.

        With no loop given, a daemon thread runs a new loop. With a given loop running in
        another thread, the start is scheduled there and awaited up to `timeout_s`. From
        inside the loop's own thread use `await astart()` instead.

        Raises:
            BridgeError: already started, called from the loop's own thread, or a service
                did not start within `timeout_s`.
        """
        if self._running:
            raise BridgeError("bridge already started; call stop() before starting it again")
        if self._given_loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()
                loop.close()

            self._own_loop = loop
            self._thread = threading.Thread(target=run, name="hardware-bridge", daemon=True)
            self._thread.start()
            if not ready.wait(timeout_s):
                raise BridgeError(f"bridge loop did not start within {timeout_s} s")
            loop_to_use = loop
        else:
            loop_to_use = self._given_loop
            if _running_loop() is loop_to_use:
                raise BridgeError("start() would block the loop it runs on; use `await astart()`")
        future = asyncio.run_coroutine_threadsafe(self.astart(), loop_to_use)
        try:
            future.result(timeout_s)
        except Exception as exc:
            future.cancel()
            self._shutdown_thread(timeout_s)
            raise BridgeError(f"bridge did not start: {_describe(exc)}") from exc

    async def astart(self) -> None:
        """Start services and workers on the running loop (the loop the adapters use)."""
        if self._running:
            raise BridgeError("bridge already started")
        loop = asyncio.get_running_loop()
        if self._given_loop is not None and loop is not self._given_loop:
            raise BridgeError("astart() must run on the loop given to the bridge")
        self._loop = loop
        started: list[AsyncService] = []
        try:
            for service in self._services:
                await service.start()
                started.append(service)
        except BaseException:
            await self._stop_services(started)  # a later service failed: undo the earlier ones
            raise
        self._running = True
        for charger_id, state in self._states.items():
            state.wake = asyncio.Event()
            self._tasks.append(loop.create_task(self._run_charger(charger_id, state)))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel the workers, release every charger (close), stop the services, and stop the
        own loop and thread. From inside the loop's own thread use `await astop()`."""
        if not self._running or self._loop is None:
            return
        if _running_loop() is self._loop:
            raise BridgeError("stop() would block the loop it runs on; use `await astop()`")
        future = asyncio.run_coroutine_threadsafe(self.astop(), self._loop)
        try:
            future.result(timeout_s)
        finally:
            self._shutdown_thread(timeout_s)

    def _shutdown_thread(self, timeout_s: float) -> None:
        if self._thread is not None and self._own_loop is not None:
            self._own_loop.call_soon_threadsafe(self._own_loop.stop)
            self._thread.join(timeout_s)
        self._thread = None
        self._own_loop = None

    async def astop(self) -> None:
        """Cancel the workers, close every adapter, stop the services; run on the bridge's loop."""
        self._running = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for charger_id, state in self._states.items():
            try:
                await asyncio.wait_for(state.adapter.close(), self._call_timeout_s)
            except (AdapterError, TimeoutError, OSError) as exc:
                LOGGER.warning("closing %s failed: %s", charger_id, exc)
            with self._lock:
                state.link = LinkState.STOPPED
                state.reading = None
        await self._stop_services(self._services)

    async def _stop_services(self, services: Sequence[AsyncService]) -> None:
        for service in reversed(services):
            try:
                await asyncio.wait_for(service.stop(), self._call_timeout_s)
            except (AdapterError, TimeoutError, OSError) as exc:
                LOGGER.warning("stopping %r failed: %s", service, exc)

    # -- non-blocking exchange (callable from any thread, e.g. a mosaik step) -------------

    def submit_setpoints(self, setpoints_kw: Mapping[str, float]) -> None:
        """Queue set-points in kW (+ charge, - discharge); the latest value per charger wins.

        Raises:
            BridgeError: an unknown charger id or a non-finite value.
        """
        for charger_id, power_kw in setpoints_kw.items():
            if charger_id not in self._states:
                raise BridgeError(
                    f"unknown charger id {charger_id!r}; known: {sorted(self._states)}"
                )
            if not math.isfinite(power_kw):
                raise BridgeError(f"set-point for {charger_id!r} is not finite: {power_kw!r}")
        woken = []
        with self._lock:
            for charger_id, power_kw in setpoints_kw.items():
                state = self._states[charger_id]
                state.pending_kw = float(power_kw)
                if state.wake is not None:
                    woken.append(state.wake)
        if self._loop is not None and self._running:
            for wake in woken:
                self._loop.call_soon_threadsafe(wake.set)

    def submit_limits(self, limits_kw: Mapping[str, tuple[float, float]]) -> None:
        """Queue standing limits (import_kw, export_kw >= 0) for chargers that can hold them
        (an adapter with `set_external_limits`, e.g. OCPP 2.1 ExternalLimits); the latest wins.

        Raises:
            BridgeError: an unknown charger id or a negative / non-finite limit.
        """
        for charger_id, pair in limits_kw.items():
            if charger_id not in self._states:
                raise BridgeError(f"unknown charger id {charger_id!r}")
            if not all(math.isfinite(v) and v >= 0 for v in pair):
                raise BridgeError(f"limits for {charger_id!r} must be finite and >= 0: {pair!r}")
        woken = []
        with self._lock:
            for charger_id, pair in limits_kw.items():
                state = self._states[charger_id]
                if state.limits_refused:
                    continue
                state.pending_limits = (float(pair[0]), float(pair[1]))
                if state.wake is not None:
                    woken.append(state.wake)
        if self._loop is not None and self._running:
            for wake in woken:
                self._loop.call_soon_threadsafe(wake.set)

    def limits_counts(self) -> dict[str, int]:
        """Per charger: standing limits sent so far."""
        with self._lock:
            return {cid: st.limits_sent for cid, st in self._states.items()}

    def latest_readings(self) -> dict[str, ChargerReading | None]:
        """Last reading per charger; None while it never answered or is offline."""
        with self._lock:
            return {cid: state.reading for cid, state in self._states.items()}

    def events(self) -> list[dict]:
        """Events since the last call (drained), oldest first.

        Each event: {"charger_id", "kind" (see EventKind), "detail", "time_s" (monotonic clock),
        "wall_time_s" (epoch seconds)}.
        """
        with self._lock:
            drained, self._events = self._events, []
        return drained

    def status(self) -> dict[str, str]:
        """Link state per charger (see LinkState)."""
        with self._lock:
            return {cid: state.link for cid, state in self._states.items()}

    def setpoint_counts(self) -> dict[str, dict[str, int]]:
        """Per charger: set-points `sent`, `accepted` and `refused` (Rejected, NotSupported,
        CALLERROR) so far; sent - accepted - refused were lost (timeout, link down)."""
        with self._lock:
            return {
                cid: {"sent": st.sent, "accepted": st.accepted, "refused": st.refusals}
                for cid, st in self._states.items()
            }

    # -- workers --------------------------------------------------------------------------

    def _record(self, charger_id: str, kind: str, detail: str = "") -> None:
        event = {
            "charger_id": charger_id,
            "kind": kind,
            "detail": detail,
            "time_s": self._clock(),
            "wall_time_s": self._wall_clock(),
        }
        with self._lock:
            self._events.append(event)
        LOGGER.info("%s %s %s", charger_id, kind, detail)

    def _go_offline(self, charger_id: str, state: _ChargerState, exc: BaseException) -> None:
        kind = EventKind.TIMEOUT if _is_timeout(exc) else EventKind.DISCONNECT
        with self._lock:
            was = state.link
            state.link = LinkState.OFFLINE
            state.reading = None
        if was in CONNECTED_STATES:
            self._record(charger_id, kind, _describe(exc))

    async def _run_charger(self, charger_id: str, state: _ChargerState) -> None:
        """Connect, send set-points, read; survive any failure of the adapter."""
        adapter = state.adapter
        assert state.wake is not None
        # `_running` as well as cancellation ends the worker: on Python 3.11, asyncio.wait_for can
        # swallow a cancel that arrives as its awaitable completes (a set-point submitted just as
        # the bridge stops), and stop() then waited for a worker that kept going.
        while self._running:
            state.wake.clear()  # before the send: a submit during this round wakes the pause
            try:
                if state.link not in CONNECTED_STATES:
                    await asyncio.wait_for(adapter.connect(), self._connect_timeout_s)
                    self._mark_online(charger_id, state)
                await self._send_setpoint(charger_id, state)
                await self._send_limits(charger_id, state)
                reading = await asyncio.wait_for(adapter.read(), self._call_timeout_s)
                with self._lock:
                    state.reading = reading
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if not self._running or task is None or task.cancelling():
                    raise  # the bridge stops this worker
                # Not a cancel of this worker: an adapter let one out (e.g. its call in flight
                # was cancelled because the connection went away). Without this the worker died
                # silently and the charger stayed "online" with its last reading for the rest of
                # the run (seen as a flaky HIL test: a dropped charger never went offline).
                self._go_offline(charger_id, state, ChargerUnavailable(_describe(exc)))
                await self._pause(state, self._retry_interval_s)
                continue
            except (ChargerUnavailable, TimeoutError, OSError) as exc:
                if state.link == LinkState.CONNECTING:
                    # A charger that never came is worth one event, not one per retry.
                    self._record(charger_id, _failure_kind(exc), _describe(exc))
                self._go_offline(charger_id, state, exc)
                await self._pause(state, self._retry_interval_s)
                continue
            except Exception as exc:  # an adapter bug must not kill the worker
                LOGGER.exception("adapter %s failed unexpectedly", charger_id)
                self._record(charger_id, EventKind.ERROR, _describe(exc))
                self._go_offline(charger_id, state, exc)
                await self._pause(state, self._retry_interval_s)
                continue
            await self._pause(state, self._poll_interval_s)

    def _mark_online(self, charger_id: str, state: _ChargerState) -> None:
        with self._lock:
            was = state.link
            state.link = LinkState.ONLINE
            returning = state.ever_online
            state.ever_online = True
            if returning and state.pending_kw is None and state.last_sent_kw is not None:
                # Re-synchronise: the charger may have rebooted or fallen back to its default.
                state.pending_kw = state.last_sent_kw
                resync = True
            else:
                resync = False
        if was not in CONNECTED_STATES:
            self._record(charger_id, EventKind.RECONNECT if returning else EventKind.CONNECT)
        if resync:
            self._record(charger_id, EventKind.RESYNC, f"{state.last_sent_kw:.3f} kW")

    async def _send_setpoint(self, charger_id: str, state: _ChargerState) -> None:
        with self._lock:
            power_kw = state.pending_kw
            state.pending_kw = None
        if power_kw is None:
            return
        with self._lock:
            state.sent += 1
        try:
            await asyncio.wait_for(state.adapter.set_power(power_kw), self._call_timeout_s)
        except SetpointRejected as exc:
            kind = EventKind.CALLERROR if getattr(exc, "error_code", None) else EventKind.REJECTED
            with self._lock:
                # Remember the value anyway: a reconnect retries it, a new submit replaces it.
                state.last_sent_kw = power_kw
                first = state.link != LinkState.DEGRADED
                state.link = LinkState.DEGRADED
                state.refusals += 1
                state.refused_at_s = self._clock()
            if first:
                # One event per episode, not one per step: every new submit is tried again, and
                # a charger that refuses all of them would otherwise log 86,400 events a day.
                self._record(charger_id, kind, f"{power_kw:.3f} kW: {_describe(exc)}")
            return
        except BaseException:
            with self._lock:
                if state.pending_kw is None:  # keep it for the retry unless superseded
                    state.pending_kw = power_kw
            raise
        with self._lock:
            state.last_sent_kw = power_kw
            state.accepted += 1
            recovered = (
                state.link == LinkState.DEGRADED
                and self._clock() - state.refused_at_s >= self._recovery_s
            )
            if recovered:
                state.link = LinkState.ONLINE
        if recovered:
            self._record(charger_id, EventKind.RECOVERED, f"{power_kw:.3f} kW accepted")

    async def _send_limits(self, charger_id: str, state: _ChargerState) -> None:
        with self._lock:
            pair = state.pending_limits
            state.pending_limits = None
        if pair is None:
            return
        setter = getattr(state.adapter, "set_external_limits", None)
        try:
            if setter is None:
                raise SetpointRejected(f"{charger_id}: this protocol has no standing limits")
            await asyncio.wait_for(setter(*pair), self._call_timeout_s)
        except SetpointRejected as exc:
            # Not a degraded charger: its set-points still work, the EMS keeps the envelope.
            with self._lock:
                state.limits_refused = True
            self._record(charger_id, EventKind.LIMITS_REFUSED, _describe(exc))
            return
        except BaseException:
            with self._lock:
                if state.pending_limits is None:  # retry after a reconnect unless superseded
                    state.pending_limits = pair
            raise
        with self._lock:
            state.limits_sent += 1
        self._record(
            charger_id, EventKind.LIMITS, f"import {pair[0]:.3f} kW, export {pair[1]:.3f} kW"
        )

    async def _pause(self, state: _ChargerState, duration_s: float) -> None:
        """Sleep up to `duration_s`, waking early when a new set-point arrives."""
        assert state.wake is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(duration_s):  # unlike wait_for, never swallows a cancel
                await state.wake.wait()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or isinstance(exc.__cause__, TimeoutError)


def _failure_kind(exc: BaseException) -> str:
    return EventKind.TIMEOUT if _is_timeout(exc) else EventKind.DISCONNECT


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
