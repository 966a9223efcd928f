"""The twin's OpenADR 2.0b VEN: an openleadr OpenADRClient on its own asyncio loop thread that
turns a VTN's events into schedules of the twin's signals (twin.signals.live.LiveSignalBuffer).

Which event signal feeds which twin signal (EVENT_SIGNALS; docs/openadr.md):

| OpenADR signalName / signalType   | twin signal            | value                          |
|-----------------------------------|------------------------|--------------------------------|
| LOAD_DISPATCH / delta             | reserve_reduction_kw   | -payload (kW less consumption) |
| LOAD_CONTROL / x-loadControlLevelOffset | regulation_pu    | payload, pu in [-1, 1]         |
| LOAD_DISPATCH / setpoint          | fems_kwh               | payload, kWh of the 30-min slot|

Each interval of an event signal (e.g. 5-s intervals of a regulation signal, 1-min commands of
a reserve block, 30-min FEMS slots) becomes one interval of the schedule. The VEN answers every
event per protocol (oadrCreatedEvent): optIn when it could use all its signals, optOut when it
could not (an unknown signal, a payload that is not a finite number, a missing time); such an
event is logged and counted as `malformed` and the run goes on. A cancelled event is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.signals.live import LiveSignalBuffer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventSignalMap:
    signal: str
    """The twin signal's name (twin.signals.scenario_signals.SIGNAL_NAMES)."""
    scale: float
    """twin value = scale x payload."""


EVENT_SIGNALS: dict[tuple[str, str], EventSignalMap] = {
    ("LOAD_DISPATCH", "delta"): EventSignalMap("reserve_reduction_kw", -1.0),
    ("LOAD_CONTROL", "x-loadControlLevelOffset"): EventSignalMap("regulation_pu", 1.0),
    ("LOAD_DISPATCH", "setpoint"): EventSignalMap("fems_kwh", 1.0),
}


class MalformedEvent(ValueError):
    """An event the VEN cannot turn into a schedule (it answers optOut)."""


@dataclass(frozen=True)
class VenCredentials:
    """TLS / signing material of the VEN (all optional: a lab VTN on 127.0.0.1 uses none)."""

    cert: str | None = None
    key: str | None = None
    passphrase: str | None = None
    vtn_fingerprint: str | None = None
    ca_file: str | None = None

    def __repr__(self) -> str:  # never print the passphrase
        return f"VenCredentials(cert={self.cert!r}, key={self.key!r}, passphrase=***)"


def load_credentials(env_var: str | None, file: str | None) -> VenCredentials:
    """Credentials as JSON ({"cert", "key", "passphrase", "vtn_fingerprint", "ca_file"}) from
    the environment variable `env_var` or the file `file`; none given = no credentials.

    Raises:
        ValueError: the variable is unset, the file unreadable, or the JSON not such an object
            (the message names the variable or file, never its contents).
    """
    if env_var is None and file is None:
        return VenCredentials()
    if env_var is not None:
        text = os.environ.get(env_var)
        where = f"environment variable {env_var}"
        if text is None:
            raise ValueError(f"{where} is not set")
    else:
        assert file is not None
        where = f"credentials file {file}"
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"{where}: {err.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not JSON (line {err.lineno})") from None
    fields = set(VenCredentials.__dataclass_fields__)
    if not isinstance(data, dict) or not set(data) <= fields:
        raise ValueError(
            f"{where}: expected a JSON object with keys among {', '.join(sorted(fields))}"
        )
    if not all(v is None or isinstance(v, str) for v in data.values()):
        raise ValueError(f"{where}: every value must be text")
    return VenCredentials(**data)


def _utc_s(value: Any, what: str) -> float:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise MalformedEvent(f"{what}: expected a time with zone, got {value!r}")
    return value.timestamp()


def _seconds(value: Any, what: str) -> float:
    if not isinstance(value, dt.timedelta) or value.total_seconds() <= 0:
        raise MalformedEvent(f"{what}: expected a positive duration, got {value!r}")
    return value.total_seconds()


def event_schedules(event: dict[str, Any]) -> dict[str, list[tuple[float, float, float]]]:
    """The schedules (twin signal -> intervals in UTC s) of one parsed openleadr event dict.

    Intervals without their own dtstart follow each other from the active period's start (the
    OpenADR 2.0b layout); openleadr fills dtstart where it can.

    Raises:
        MalformedEvent: a signal the twin does not take, or an unusable interval.
    """
    try:
        signals = event["event_signals"]
        period_start = event["active_period"]["dtstart"]
    except (KeyError, TypeError):
        raise MalformedEvent("no event_signals or active_period") from None
    if isinstance(signals, dict):
        signals = signals.get("event_signals", [signals])
    if not isinstance(signals, list) or not signals:
        raise MalformedEvent("no event signal")
    out: dict[str, list[tuple[float, float, float]]] = {}
    for signal in signals:
        key = (signal.get("signal_name"), signal.get("signal_type"))
        mapping = EVENT_SIGNALS.get(key)  # type: ignore[arg-type]
        if mapping is None:
            raise MalformedEvent(
                f"signal {key[0]}/{key[1]} is not one the twin takes; "
                + ", ".join(f"{n}/{t}" for n, t in EVENT_SIGNALS)
            )
        intervals = signal.get("intervals")
        if isinstance(intervals, dict):
            intervals = [intervals]
        if not isinstance(intervals, list) or not intervals:
            raise MalformedEvent(f"signal {key[0]}: no intervals")
        cursor = _utc_s(period_start, "active_period.dtstart")
        rows = []
        for i, interval in enumerate(intervals):
            start = (
                _utc_s(interval["dtstart"], f"interval {i} dtstart")
                if interval.get("dtstart") is not None
                else cursor
            )
            length = _seconds(interval.get("duration"), f"interval {i} duration")
            payload = interval.get("signal_payload")
            if isinstance(payload, bool) or not isinstance(payload, (int, float)):
                raise MalformedEvent(f"interval {i}: payload {payload!r} is not a number")
            if not math.isfinite(payload):
                raise MalformedEvent(f"interval {i}: payload {payload!r} is not finite")
            rows.append((start, start + length, mapping.scale * float(payload)))
            cursor = start + length
        out.setdefault(mapping.signal, []).extend(rows)
    return out


class OpenAdrVen:
    """An openleadr VEN on its own thread, writing the events it receives into `buffer`.

    Args:
        vtn_url: e.g. http://127.0.0.1:8080/OpenADR2/Simple/2.0b.
        ven_name: the name it registers with.
        buffer: where schedules go (read by the run each step).
        credentials: TLS / signing material (load_credentials).
    """

    def __init__(
        self,
        vtn_url: str,
        ven_name: str,
        buffer: LiveSignalBuffer,
        credentials: VenCredentials | None = None,
    ) -> None:
        self.vtn_url = vtn_url
        self.ven_name = ven_name
        self.buffer = buffer
        self.credentials = credentials or VenCredentials()
        self.opted: dict[str, str] = {}
        """event id -> the opt the VEN answered ("optIn" / "optOut")."""
        self.problems: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._registered = threading.Event()
        self._failed: BaseException | None = None

    # -- handlers (on the VEN's loop) ---------------------------------------------------------
    def _handle(self, event: dict[str, Any]) -> str:
        descriptor = event.get("event_descriptor") or {}
        event_id = str(descriptor.get("event_id", "?"))
        if descriptor.get("event_status") == "cancelled":
            self.buffer.remove(event_id)
            self.opted[event_id] = "optIn"
            return "optIn"
        try:
            schedules = event_schedules(event)
            for name, intervals in schedules.items():
                self.buffer.put(name, event_id, intervals)
        except (MalformedEvent, ValueError) as err:
            self.buffer.count("malformed")
            self.problems.append(f"event {event_id}: {err}")
            logger.warning("OpenADR event %s not used: %s", event_id, err)
            self.opted[event_id] = "optOut"
            return "optOut"
        self.opted[event_id] = "optIn"
        return "optIn"

    async def _on_event(self, event: dict[str, Any]) -> str:
        return self._handle(event)

    async def _on_update_event(self, event: dict[str, Any]) -> str:
        return self._handle(event)

    # -- life ---------------------------------------------------------------------------------
    def start(self, timeout_s: float = 30.0) -> None:
        """Start the loop thread, register with the VTN; return once registered.

        Raises:
            TimeoutError: not registered within `timeout_s` (the VTN is not there or refused).
        """
        self._thread = threading.Thread(
            target=self._run, name=f"openadr-ven-{self.ven_name}", daemon=True
        )
        self._thread.start()
        if not self._registered.wait(timeout_s) or self._failed is not None:
            self.stop()
            why = f": {self._failed}" if self._failed is not None else ""
            raise TimeoutError(
                f"OpenADR VEN {self.ven_name!r} not registered with {self.vtn_url} within "
                f"{timeout_s:g} s{why}"
            )

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._register())
            if self._failed is None:
                loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._close())
            loop.close()

    async def _register(self) -> None:
        from openleadr import OpenADRClient

        c = self.credentials
        try:
            client = OpenADRClient(
                ven_name=self.ven_name,
                vtn_url=self.vtn_url,
                cert=c.cert,
                key=c.key,
                passphrase=c.passphrase,
                vtn_fingerprint=c.vtn_fingerprint,
                ca_file=c.ca_file,
                show_fingerprint=False,
            )
            client.add_handler("on_event", self._on_event)
            client.add_handler("on_update_event", self._on_update_event)
            self._client = client
            await client.run()
            if client.registration_id is None:
                self._failed = RuntimeError("the VTN gave no registration")
        except Exception as err:  # noqa: BLE001 - reported by start() in the run's thread
            self._failed = err
        self._registered.set()

    async def _close(self) -> None:
        if self._client is not None and self._client.client_session is not None:
            await self._client.stop()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def ven_id(self) -> str | None:
        return None if self._client is None else self._client.ven_id

    def stats(self) -> dict[str, Any]:
        """Counts for summary.json (no credentials)."""
        opts = list(self.opted.values())
        return {
            "vtn_url": self.vtn_url,
            "ven_name": self.ven_name,
            "ven_id": self.ven_id,
            "opt_in": opts.count("optIn"),
            "opt_out": opts.count("optOut"),
            **self.buffer.counts(),
            "problems": self.problems[-20:],
        }
