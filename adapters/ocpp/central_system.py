"""The twin's OCPP central system (CSMS): one websocket server for OCPP 1.6J, 2.0.1 and 2.1.

Chargers dial in to `ws(s)://host:port/<anything>/<identity>`. The handshake refuses unknown
identities and wrong or missing HTTP Basic credentials alike (401, so nobody learns which
identities exist); an IP with too many failures is locked out for a growing time (429). The
subprotocol is negotiated per connection (preference 2.1 > 2.0.1 > 1.6) and picks the handler
class. Connections are capped (total, per IP, not yet authenticated: see `CsmsConfig`) and
each charger's messages are rate-limited per connection (adapters/ocpp/guard.py).

Security profile 3 (`CsmsConfig.client_ca`): OpenSSL refuses a charger without a client
certificate signed by that CA during the TLS handshake (before this module sees the connection,
so those refusals are not events); a certificate whose subject CN is not the identity in the
URL gets the same 401 as a wrong password (OCPP 2.0.1 A00.FR.: CN = Charging Station identity).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import itertools
import logging
import math
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from adapters.ocpp.adapter import OcppChargerAdapter
from adapters.ocpp.charge_points import CHARGE_POINT_CLASSES, VERSIONS
from adapters.ocpp.config import SUPPORTED_SUBPROTOCOLS, CsmsConfig, OcppConfigError
from adapters.ocpp.guard import (
    ConnectionGuard,
    EventLog,
    GuardLimits,
    LoginThrottle,
    OneLineFilter,
    TokenBucket,
    safe_text,
)
from adapters.ocpp.session import ChargerInfo, ChargerSession

LOGGER = logging.getLogger(__name__)
_SERVER_LOGGER = logging.getLogger("adapters.ocpp.websockets")
"""websockets' own logger: peer-caused failures as one escaped line each."""
_SERVER_LOGGER.addFilter(OneLineFilter())


def identity_from_path(path: str) -> str | None:
    """Charger identity = last non-empty segment of the request path (URL-decoded)."""
    segments = [segment for segment in path.split("?", 1)[0].split("/") if segment]
    return unquote(segments[-1]) if segments else None


def basic_credentials(headers: Headers) -> tuple[str, str] | None:
    """(user, password) from an HTTP Basic Authorization header, or None."""
    value = headers.get("Authorization")
    if not value:
        return None
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def certificate_common_names(peercert: object) -> list[str]:
    """Subject commonName values of a certificate as `SSLSocket.getpeercert()` returns it."""
    if not isinstance(peercert, dict):
        return []
    names = []
    for rdn in peercert.get("subject", ()):
        for attribute in rdn:
            if len(attribute) == 2 and attribute[0] == "commonName":
                names.append(str(attribute[1]))
    return names


def certificate_mismatch(peercert: object, identity: str) -> str:
    """Why a client certificate does not belong to `identity` ("" when it does): exactly one
    subject CN, equal to the identity."""
    names = certificate_common_names(peercert)
    if names == [identity]:
        return ""
    if not names:
        return "client certificate without subject CN"
    shown = ", ".join(repr(safe_text(name, 64)) for name in names[:3])
    return f"client certificate CN {shown} is not the identity"


_NOISY_KINDS = frozenset(
    {"refused", "protocol_error", "unmatched_result", "security_event", "evicted", "locked_out"}
)
"""Event kinds a peer can cause at will: counted always, passed on at a bounded rate."""

_ACCEPT_BACKLOG = 64
"""Listen backlog; asyncio accepts up to this many sockets before the guard sees one."""

_RESERVED_FDS = 64 + 2 * _ACCEPT_BACKLOG
"""File descriptors kept free beyond the connection cap: everything else in the process
(files, logs, the twin) and the sockets accepted in a burst before the guard closes them."""


def _fd_limit(wanted: int) -> int:
    """Raise the soft open-file limit towards `wanted` if the hard limit allows; the result."""
    try:
        import resource
    except ImportError:  # not POSIX
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return wanted if soft == resource.RLIM_INFINITY else int(soft)


class _GuardedConnection(ServerConnection):
    """A websocket server connection admitted (or refused at once) by the central system."""

    central: CentralSystem

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.central._admit(self, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.central._guard.release(self)


class CentralSystem:
    """OCPP central system exposing each configured charger as an `OcppChargerAdapter`.

    Args:
        config: server, security and metering settings.
        clock: monotonic clock for reading/event timestamps, s (injectable for tests).
        on_event: called with every event dict as it happens (e.g. to print it); the kinds a
            peer can cause at will (refusals, bad frames, ...) at most 20 per 10 s per kind,
            then one 'suppressed' summary - `event_counts()` always has them all.
    """

    def __init__(
        self,
        config: CsmsConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_event: Callable[[dict], None] | None = None,
    ) -> None:
        config.validate()
        self.config = config
        self._profile = config.effective_security_profile()
        self._clock = clock
        self._on_event = on_event
        self._log = EventLog(history=config.event_history, noisy=_NOISY_KINDS)
        self._logins = LoginThrottle(
            config.login_failures_allowed, config.login_lockout_s, config.login_lockout_max_s
        )
        self._guard = ConnectionGuard(
            GuardLimits(
                max_connections=config.connection_cap(),
                max_connections_per_ip=config.max_connections_per_ip,
                max_pending=config.max_pending,
                max_pending_per_ip=config.max_pending_per_ip,
            )
        )
        transaction_numbers = itertools.count(1)
        self._sessions = {
            identity: ChargerSession(
                identity,
                auth,
                meter_interval_s=int(config.meter_interval_s),
                heartbeat_interval_s=config.heartbeat_interval_s,
                clock=clock,
                record=self._record,
                transaction_numbers=transaction_numbers,
            )
            for identity, auth in config.chargers.items()
        }
        self._adapters: dict[str, OcppChargerAdapter] = {}
        self._server: Server | None = None

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start serving (returns once listening).

        Raises:
            OcppConfigError: TLS files unusable or the port cannot be bound.
        """
        if self._server is not None:
            return
        cap = self.config.connection_cap()
        usable = _fd_limit(cap + _RESERVED_FDS) - _RESERVED_FDS
        if usable < cap:
            # Beyond the file limit accept() fails with EMFILE: refuse earlier, cleanly.
            cap = max(usable, 1)
            self._record("", "warning", f"open-file limit: at most {cap} connections")
        self._guard.limits.max_connections = cap
        unprotected = self.config.unprotected()
        if unprotected:
            message = (
                f"{len(unprotected)} charger(s) without a password ({', '.join(unprotected[:5])}"
                f"{' ...' if len(unprotected) > 5 else ''}): anyone who knows the identity can "
                "take them over (allow_no_password)"
            )
            LOGGER.warning("%s", message)
            self._record("", "warning", "INSECURE: " + message)

        def connection_factory(*args: Any, **kwargs: Any) -> ServerConnection:
            connection = _GuardedConnection(*args, **kwargs)
            connection.central = self
            return connection

        try:
            self._server = await serve(
                self._handle_connection,
                self.config.host,
                self.config.port,
                subprotocols=list(SUPPORTED_SUBPROTOCOLS),  # type: ignore[list-item]
                process_request=self._process_request,
                ssl=self.config.ssl_context(),
                max_size=self.config.max_message_bytes,
                max_queue=4,
                open_timeout=self.config.handshake_timeout_s,
                ping_interval=self.config.ping_interval_s,
                compression=None,
                server_header=None,
                create_connection=connection_factory,  # type: ignore[arg-type]
                logger=_SERVER_LOGGER,
                backlog=_ACCEPT_BACKLOG,
            )
        except OSError as exc:
            raise OcppConfigError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}"
                " - pick another port or stop the process using it"
            ) from exc
        self._quiet_accept_errors(asyncio.get_running_loop())
        self._record("", "listening", self.url)

    def _quiet_accept_errors(self, loop: asyncio.AbstractEventLoop) -> None:
        """Should the process still run out of files (other fds), asyncio logs a traceback per
        failed accept (and retries after 1 s): one event per 10 s instead (counted)."""
        previous = loop.get_exception_handler()

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if str(context.get("message", "")).startswith("socket.accept() out of system"):
                self._record("", "refused", f"accept failed: {context.get('exception')!r}")
                return
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        loop.set_exception_handler(handler)

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Clear the twin's profiles on connected chargers, then close every connection and
        wait for every task of the server (nothing is left pending for the loop to destroy)."""
        if self._server is None:
            return
        online = [session for session in self._sessions.values() if session.online]
        if online:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(s.clear_setpoint() for s in online), return_exceptions=True),
                    timeout_s,
                )
        server, self._server = self._server, None
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout_s)
        for task in list(server.handler_tasks):
            task.cancel()
        await asyncio.gather(*(s.cancel_tasks() for s in self._sessions.values()))

    async def __aenter__(self) -> CentralSystem:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """Port actually bound (useful with port 0)."""
        if self._server is None:
            raise OcppConfigError("the central system is not started; call start() first")
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """Base URL chargers connect to; append `/<identity>`."""
        scheme = "wss" if self.config.tls_cert is not None else "ws"
        return f"{scheme}://{self.config.host}:{self.port}/ocpp"

    # -- queries --------------------------------------------------------------------------

    def adapter(self, charger_id: str, connect_timeout_s: float = 30.0) -> OcppChargerAdapter:
        """The `ChargerAdapter` of a configured charger (the same object on every call).

        Raises:
            OcppConfigError: `charger_id` is not in the configuration.
        """
        if charger_id not in self._adapters:
            self._adapters[charger_id] = OcppChargerAdapter(
                self.session(charger_id), self._clock, connect_timeout_s
            )
        return self._adapters[charger_id]

    def session(self, charger_id: str) -> ChargerSession:
        """Internal state of one charger (inspection, tests)."""
        try:
            return self._sessions[charger_id]
        except KeyError:
            raise OcppConfigError(
                f"charger {charger_id!r} is not configured; known: {sorted(self._sessions)}"
            ) from None

    def connected(self) -> list[ChargerInfo]:
        """Chargers with an open connection."""
        return [s.info() for s in self._sessions.values() if s.online]

    def online_count(self) -> int:
        """Number of chargers with an open connection (O(chargers), no copies)."""
        return sum(1 for s in self._sessions.values() if s.online)

    def events(self) -> list[dict]:
        """The most recent events (at most `config.event_history`, copy), oldest first: dicts
        with charger_id, kind, detail, time_s (CSMS clock) and wall_time_s."""
        return list(self._log.recent)

    def drain_events(self) -> list[dict]:
        """Recent events since the last drain, oldest first."""
        drained = list(self._log.recent)
        self._log.recent.clear()
        return drained

    def event_counts(self) -> dict[str, int]:
        """How many events of each kind happened since the start (never truncated)."""
        return dict(self._log.counts)

    def connection_counts(self) -> dict[str, int]:
        """Open and pre-auth connections now; refused and evicted ones so far."""
        return {
            "open": self._guard.open_connections,
            "pending": self._guard.pending_connections,
            **self._guard.counts,
        }

    # -- server internals -----------------------------------------------------------------

    def _record(self, charger_id: str, kind: str, detail: str = "") -> None:
        event = {
            "charger_id": charger_id,
            "kind": kind,
            "detail": detail,
            "time_s": self._clock(),
            "wall_time_s": time.time(),
        }
        log_info = LOGGER.isEnabledFor(logging.INFO)  # escaping costs: only when logged
        for shown in self._log.add(event):
            if log_info:
                LOGGER.info(
                    "%s %s %s",
                    safe_text(shown["charger_id"]),
                    shown["kind"],
                    safe_text(shown["detail"]),
                )
            if self._on_event is not None:
                self._on_event(shown)

    def _admit(self, connection: ServerConnection, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        ip = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        evicted_before = self._guard.counts["evicted_pre_auth"]
        if not self._guard.admit(connection, ip, _abort):
            self._record("", "refused", f"connection cap reached ({ip})")
        elif self._guard.counts["evicted_pre_auth"] > evicted_before:
            self._record("", "evicted", f"oldest unauthenticated connection dropped ({ip})")

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse unknown identities and bad credentials alike (401: nobody learns which
        identities exist); an IP that fails too often is locked out for a while (429)."""
        ip = str(connection.remote_address[0]) if connection.remote_address else "?"
        locked_s = self._logins.blocked_for(ip)
        if locked_s > 0:
            self._record("", "locked_out", f"{ip}: {locked_s:.0f} s left")
            response = connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "Too many failed logins\n")
            response.headers["Retry-After"] = str(max(1, math.ceil(locked_s)))
            return response
        identity = identity_from_path(request.path)
        reason = self._refusal(connection, request, identity)
        if reason:
            self._logins.failed(ip)
            self._record((identity or "")[:64], "refused", f"{reason} ({ip})")
            response = connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
            return response
        auth = self.config.chargers[identity or ""]
        if auth.password is not None or self._profile == 3:  # a credential was checked
            self._logins.succeeded(ip)
        self._guard.authenticated(connection)
        return None

    def _refusal(self, connection: ServerConnection, request: Request, identity: str | None) -> str:
        """Why this handshake is refused ("" = admitted): unknown identity, a client certificate
        of another identity (profile 3), or a configured password not given."""
        auth = self.config.chargers.get(identity) if identity is not None else None
        if identity is None or auth is None:
            return "unknown identity"
        if self._profile == 3:
            # TLS already verified the chain against client_ca; this binds it to the identity.
            mismatch = certificate_mismatch(_peer_certificate(connection), identity)
            if mismatch:
                return mismatch
        if auth.password is None:
            return ""
        credentials = basic_credentials(request.headers)
        good = (
            credentials is not None
            and credentials[0] == identity
            and hmac.compare_digest(credentials[1].encode(), auth.password.encode())
        )
        return "" if good else "wrong or missing credentials"

    async def _handle_connection(self, websocket: ServerConnection) -> None:
        identity = identity_from_path(websocket.request.path if websocket.request else "")
        session = self._sessions.get(identity or "")
        cp_class = CHARGE_POINT_CLASSES.get(websocket.subprotocol or "")
        if session is None or cp_class is None:  # process_request / negotiation prevent this
            await websocket.close(1002, "unsupported")
            return
        previous = session.websocket if session.online else None
        cp = cp_class(session.charger_id, websocket, session, self.config.response_timeout_s)
        config = self.config
        cp.limit_rate(
            TokenBucket(config.rate_messages_per_s, config.rate_burst_messages),
            TokenBucket(
                config.rate_bytes_per_s,
                max(4 * config.max_message_bytes, config.rate_bytes_per_s),
            ),
        )
        version = VERSIONS[websocket.subprotocol or ""]
        host, port = websocket.remote_address[:2]
        kind = "reconnect" if session.connections else "connect"
        session.attach(cp, websocket, version, f"{host}:{port}")
        self._record(session.charger_id, kind, f"OCPP {version} from {host}:{port}")
        if previous is not None:
            # Same identity again: the charger rebooted or lost the old socket; newest wins.
            await previous.close(1000, "replaced by a new connection")
        close_detail = ""
        try:
            await cp.start()
        except ConnectionClosed as exc:
            close_detail = (
                f"close code {exc.rcvd.code if exc.rcvd else exc.sent.code if exc.sent else 1006}"
            )
        except Exception:  # a bug in a handler must not take the server down
            LOGGER.exception("connection of %s failed", session.charger_id)
            close_detail = "internal error"
            await websocket.close(1011, "internal error")
        finally:
            cp.close_waiters()
            if session.detach(cp):
                self._record(session.charger_id, "disconnect", close_detail)


def _peer_certificate(connection: ServerConnection) -> object:
    """The verified client certificate of a wss:// connection (dict), or None."""
    transport = getattr(connection, "transport", None)
    return transport.get_extra_info("peercert") if transport is not None else None


def _abort(connection: object) -> None:
    transport = getattr(connection, "transport", None)
    if transport is not None:
        transport.abort()


def format_event(event: dict) -> str:
    """One printable line for an event (peer-controlled text escaped)."""
    who = f"{safe_text(event['charger_id'], 64)}: " if event["charger_id"] else ""
    return f"{who}{event['kind']} {safe_text(event['detail'])}".rstrip()


SHOWN_KINDS = frozenset(
    {
        "connect",
        "reconnect",
        "disconnect",
        "refused",
        "boot",
        "rejected",
        "callerror",
        "listening",
        "transaction_started",
        "transaction_ended",
        "resync",
        "timeout",
        "warning",
        "suppressed",
        "locked_out",
        "evicted",
    }
)
"""Event kinds `twin csms` prints (one line each)."""


def status_line(central: CentralSystem) -> str:
    """Compact state of the central system: chargers online, in a transaction, refusals..."""
    sessions = central._sessions.values()
    online = sum(1 for s in sessions if s.online)
    charging = sum(1 for s in sessions if s.online and s.transaction_id is not None)
    counts = central.event_counts()
    connections = central.connection_counts()
    return (
        f"status: {online} of {len(central.config.chargers)} chargers connected, "
        f"{charging} in a transaction; connections {connections['open']} open "
        f"({connections['pending']} authenticating); refused {counts.get('refused', 0)}, "
        f"protocol errors {counts.get('protocol_error', 0)}"
    )


async def serve_forever(
    config: CsmsConfig,
    print_line: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
    status_interval_s: float = 30.0,
) -> None:
    """Run a central system until cancelled (or `stop` is set) - the `twin csms` command.

    Prints one line per event as chargers come and go (never the whole list: a reconnect
    storm of N chargers stays O(N) lines), and a compact status line every
    `status_interval_s` when something changed."""

    def show(event: dict) -> None:
        if event["kind"] in SHOWN_KINDS:
            print_line(format_event(event))

    central = CentralSystem(config, on_event=show)
    await central.start()

    async def report_status() -> None:
        last = ""
        while True:
            await asyncio.sleep(status_interval_s)
            line = status_line(central)
            if line != last:
                print_line(line)
                last = line

    reporter = asyncio.ensure_future(report_status())
    try:
        if stop is None:
            await asyncio.Future()  # until cancelled
        else:
            await stop.wait()
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        await central.stop()
        print_line(status_line(central))
