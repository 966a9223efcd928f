"""Protection of the central system against hostile or broken peers (no ocpp/websockets import).

- `safe_text`: peer-controlled text (URL identities, error descriptions) made safe to print.
- `TokenBucket`: per-connection rate limit (messages and bytes) of what a charger sends.
- `LoginThrottle`: failed handshakes per IP -> growing lock-out (HTTP 429 while it lasts).
- `ConnectionGuard`: caps on open connections (total, per IP) and on connections that have not
  yet authenticated (pre-auth, total and per IP); at the pre-auth cap the *oldest* unauthenticated
  connection is dropped, so idle sockets cannot lock a charger out and the reserve of slots
  between the pre-auth cap and the total cap stays free for chargers that authenticate.
- `EventLog`: counts of every event kind, a bounded ring of recent events, and a per-kind
  budget for the noisy kinds (refusals, bad frames) so a flood cannot flood the terminal.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def safe_text(value: object, limit: int = 200) -> str:
    """`value` as one printable line: control characters (C0, C1, DEL, bidi overrides) escaped,
    at most `limit` characters (an ellipsis marks a cut)."""
    text = str(value)
    cut = len(text) > limit
    if not cut and "\\" not in text and text.isprintable():
        return text  # the common case: nothing to escape (isprintable is False for C0/C1/bidi)
    out = []
    for char in text[:limit]:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif (
            code < 0x20
            or 0x7F <= code <= 0x9F
            or 0x202A <= code <= 0x202E
            or (0x2066 <= code <= 0x2069)
        ):
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out) + ("..." if cut else "")


class OneLineFilter(logging.Filter):
    """For loggers fed peer-controlled text (the `ocpp` library's, websockets'): one escaped,
    bounded line per record, without traceback (the peer's error, not ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = safe_text(record.getMessage(), 500)
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


class TokenBucket:
    """`rate` tokens per second, at most `burst` banked.

    Args:
        rate: refill, tokens/s (> 0).
        burst: capacity, tokens (>= the largest single cost asked).
        clock: monotonic clock, s.
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def take(self, cost: float) -> float:
        """Spend `cost` tokens; returns how long the caller must wait first, s (0 = none).

        The debt is booked at once, so successive callers queue behind each other."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= min(cost, self.burst)
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class _LruDict(OrderedDict):
    """OrderedDict that forgets its least recently used key beyond `limit` entries."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def touch(self, key: Hashable, default: object) -> object:
        if key in self:
            self.move_to_end(key)
        else:
            self[key] = default
            while len(self) > self.limit:
                self.popitem(last=False)
        return self[key]


@dataclass
class _Failures:
    count: int = 0
    backoff_s: float = 0.0
    blocked_until: float = 0.0


class LoginThrottle:
    """After `allowed` failed handshakes from one IP, that IP is locked out for `first_s`,
    doubling with each further lock-out up to `max_s`; a success clears the IP's record.

    Args:
        allowed: failures tolerated before a lock-out (>= 1).
        first_s: first lock-out, s.
        max_s: longest lock-out, s.
        clock: monotonic clock, s.
        max_ips: IPs remembered (least recently seen forgotten first).
    """

    def __init__(
        self,
        allowed: int,
        first_s: float,
        max_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_ips: int = 10_000,
    ) -> None:
        self.allowed = allowed
        self.first_s = first_s
        self.max_s = max_s
        self._clock = clock
        self._ips = _LruDict(max_ips)

    def blocked_for(self, ip: str) -> float:
        """Seconds `ip` remains locked out (0 = may try)."""
        record = self._ips.get(ip)
        if record is None:
            return 0.0
        return max(0.0, record.blocked_until - self._clock())

    def failed(self, ip: str) -> None:
        record = self._ips.touch(ip, _Failures())
        assert isinstance(record, _Failures)
        record.count += 1
        if record.count >= self.allowed:
            record.backoff_s = min(self.max_s, max(self.first_s, record.backoff_s * 2))
            record.blocked_until = self._clock() + record.backoff_s
            record.count = 0

    def succeeded(self, ip: str) -> None:
        self._ips.pop(ip, None)


@dataclass
class GuardLimits:
    """Caps of `ConnectionGuard` (see CsmsConfig for their meaning)."""

    max_connections: int
    max_connections_per_ip: int | None
    max_pending: int
    max_pending_per_ip: int


@dataclass
class _Peer:
    ip: str
    pending: bool = True


@dataclass
class ConnectionGuard:
    """Admission of TCP connections; `abort` closes one at once (transport.abort())."""

    limits: GuardLimits
    counts: Counter = field(default_factory=Counter)
    _open: dict[object, _Peer] = field(default_factory=dict)
    _pending: OrderedDict = field(default_factory=OrderedDict)
    _per_ip: Counter = field(default_factory=Counter)
    _pending_per_ip: Counter = field(default_factory=Counter)

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def pending_connections(self) -> int:
        return len(self._pending)

    def admit(self, connection: object, ip: str, abort: Callable[[object], None]) -> bool:
        """A new TCP connection from `ip`: True if kept, False if closed at once."""
        limits = self.limits
        per_ip_cap = limits.max_connections_per_ip
        if len(self._open) >= limits.max_connections and self._pending:
            # Full: an unauthenticated connection makes room (the oldest of the IP holding the
            # most), so idle sockets never keep out a charger that would authenticate.
            crowded = max(self._pending_per_ip, key=self._pending_per_ip.__getitem__)
            self._evict(next(c for c, i in self._pending.items() if i == crowded), abort)
        if len(self._open) >= limits.max_connections or (
            per_ip_cap is not None and self._per_ip[ip] >= per_ip_cap
        ):
            self.counts["refused_capacity"] += 1
            abort(connection)
            return False
        self._open[connection] = _Peer(ip)
        self._per_ip[ip] += 1
        self._pending[connection] = ip
        self._pending_per_ip[ip] += 1
        if self._pending_per_ip[ip] > limits.max_pending_per_ip:
            oldest = next(c for c, peer_ip in self._pending.items() if peer_ip == ip)
            self._evict(oldest, abort)
        elif len(self._pending) > limits.max_pending:
            self._evict(next(iter(self._pending)), abort)
        return True

    def authenticated(self, connection: object) -> None:
        """The connection passed the handshake checks: it no longer counts as pre-auth."""
        self._unpend(connection)

    def release(self, connection: object) -> None:
        """The connection is closed."""
        self._unpend(connection)
        peer = self._open.pop(connection, None)
        if peer is not None:
            self._per_ip[peer.ip] -= 1
            if self._per_ip[peer.ip] <= 0:
                del self._per_ip[peer.ip]

    def _unpend(self, connection: object) -> None:
        ip = self._pending.pop(connection, None)
        if ip is not None:
            self._pending_per_ip[ip] -= 1
            if self._pending_per_ip[ip] <= 0:
                del self._pending_per_ip[ip]
        peer = self._open.get(connection)
        if peer is not None:
            peer.pending = False

    def _evict(self, connection: object, abort: Callable[[object], None]) -> None:
        """Drop an unauthenticated connection; its slot is free at once (the socket closes on
        the loop's next turn: the file reserve of the caller covers that moment)."""
        self.counts["evicted_pre_auth"] += 1
        self.release(connection)
        abort(connection)


@dataclass
class EventLog:
    """Every event counted by kind; the last `history` kept; noisy kinds rate-limited for the
    sink (`budget` per `window_s` per kind, then one 'suppressed' summary per window)."""

    history: int
    noisy: frozenset[str]
    budget: int = 20
    window_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    counts: Counter = field(default_factory=Counter)
    recent: deque = field(init=False)
    _window: dict[str, tuple[float, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=self.history)

    def add(self, event: dict) -> list[dict]:
        """Record `event`; returns what the sink should see now (the event, a summary of
        suppressed ones, or nothing)."""
        kind = event["kind"]
        self.counts[kind] += 1
        self.recent.append(event)
        if kind not in self.noisy:
            return [event]
        now = self.clock()
        start, seen = self._window.get(kind, (now, 0))
        out: list[dict] = []
        if now - start >= self.window_s:
            suppressed = seen - self.budget
            if suppressed > 0:
                out.append(
                    {
                        **event,
                        "charger_id": "",
                        "kind": "suppressed",
                        "detail": f"{suppressed} more '{kind}' events in {now - start:.0f} s "
                        f"(total {self.counts[kind]})",
                    }
                )
            start, seen = now, 0
        seen += 1
        self._window[kind] = (start, seen)
        if seen <= self.budget:
            out.append(event)
        return out
