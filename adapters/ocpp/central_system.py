"""The twin's OCPP central system (CSMS): one websocket server for OCPP 1.6J, 2.0.1 and 2.1.

Chargers dial in to `ws(s)://host:port/<anything>/<identity>`. The handshake refuses unknown
identities (404) and wrong or missing HTTP Basic credentials (401); the subprotocol is
negotiated per connection (preference 2.1 > 2.0.1 > 1.6) and picks the handler class.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import itertools
import logging
import time
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from adapters.ocpp.adapter import OcppChargerAdapter
from adapters.ocpp.charge_points import CHARGE_POINT_CLASSES, VERSIONS
from adapters.ocpp.config import SUPPORTED_SUBPROTOCOLS, CsmsConfig, OcppConfigError
from adapters.ocpp.session import ChargerInfo, ChargerSession

LOGGER = logging.getLogger(__name__)


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


class CentralSystem:
    """OCPP central system exposing each configured charger as an `OcppChargerAdapter`.

    Args:
        config: server, security and metering settings.
        clock: monotonic clock for reading/event timestamps, s (injectable for tests).
        on_event: called with every event dict as it happens (e.g. to print it).
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
        self._clock = clock
        self._on_event = on_event
        self._events: list[dict] = []
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
        try:
            self._server = await serve(
                self._handle_connection,
                self.config.host,
                self.config.port,
                subprotocols=list(SUPPORTED_SUBPROTOCOLS),
                process_request=self._process_request,
                ssl=self.config.ssl_context(),
                max_size=self.config.max_message_bytes,
                ping_interval=self.config.ping_interval_s,
                compression=None,
                server_header=None,
            )
        except OSError as exc:
            raise OcppConfigError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}"
                " - pick another port or stop the process using it"
            ) from exc
        self._record("", "listening", self.url)

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Clear the twin's profiles on connected chargers, then close every connection."""
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

    def events(self) -> list[dict]:
        """All events so far (copy), oldest first: dicts with charger_id, kind, detail,
        time_s (CSMS clock) and wall_time_s."""
        return list(self._events)

    def drain_events(self) -> list[dict]:
        """Events since the last drain, oldest first."""
        drained, self._events = self._events, []
        return drained

    # -- server internals -----------------------------------------------------------------

    def _record(self, charger_id: str, kind: str, detail: str = "") -> None:
        event = {
            "charger_id": charger_id,
            "kind": kind,
            "detail": detail,
            "time_s": self._clock(),
            "wall_time_s": time.time(),
        }
        self._events.append(event)
        LOGGER.info("%s %s %s", charger_id, kind, detail)
        if self._on_event is not None:
            self._on_event(event)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse unknown identities (404) and bad credentials (401) before the upgrade."""
        identity = identity_from_path(request.path)
        auth = self.config.chargers.get(identity) if identity is not None else None
        if identity is None or auth is None:
            self._record(identity or "", "refused", "unknown identity")
            return connection.respond(HTTPStatus.NOT_FOUND, "Unknown charging station\n")
        if auth.password is not None:
            credentials = basic_credentials(request.headers)
            good = (
                credentials is not None
                and credentials[0] == identity
                and hmac.compare_digest(credentials[1].encode(), auth.password.encode())
            )
            if not good:
                self._record(identity, "refused", "wrong or missing credentials")
                response = connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
                response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
                return response
        return None

    async def _handle_connection(self, websocket: ServerConnection) -> None:
        identity = identity_from_path(websocket.request.path if websocket.request else "")
        session = self._sessions.get(identity or "")
        cp_class = CHARGE_POINT_CLASSES.get(websocket.subprotocol or "")
        if session is None or cp_class is None:  # process_request / negotiation prevent this
            await websocket.close(1002, "unsupported")
            return
        previous = session.websocket if session.online else None
        cp = cp_class(session.charger_id, websocket, session, self.config.response_timeout_s)
        version = VERSIONS[websocket.subprotocol]
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
            if session.detach(cp):
                self._record(session.charger_id, "disconnect", close_detail)


async def serve_forever(
    config: CsmsConfig,
    print_line: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a central system until cancelled (or `stop` is set), printing chargers as they
    come and go - the `twin csms` command."""
    shown = {
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
    }

    def show(event: dict) -> None:
        if event["kind"] in shown:
            who = f"{event['charger_id']}: " if event["charger_id"] else ""
            print_line(f"{who}{event['kind']} {event['detail']}".rstrip())
        if event["kind"] in ("boot", "transaction_started", "transaction_ended", "disconnect"):
            # The commissioning view: who is connected now, with what, in which transaction.
            online = central.connected()
            print_line(f"connected chargers: {len(online)} of {len(config.chargers)}")
            for info in online:
                print_line(
                    f"  {info.charger_id}  OCPP {info.version}  {info.remote_address}  "
                    f"{info.vendor or '?'} {info.model or '?'}  transaction {info.transaction_id or '-'}"
                )

    central = CentralSystem(config, on_event=show)
    await central.start()
    try:
        if stop is None:
            await asyncio.Future()  # until cancelled
        else:
            await stop.wait()
    finally:
        await central.stop()
