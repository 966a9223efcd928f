"""Configuration of the central system (CSMS): who may connect, how, and how to sample meters."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from adapters.base import AdapterError

SUPPORTED_SUBPROTOCOLS: tuple[str, ...] = ("ocpp2.1", "ocpp2.0.1", "ocpp1.6")
"""Offered in order of preference; websockets picks the first one the charger also offers."""

SECURITY_PROFILES: tuple[int, ...] = (1, 2, 3)
"""OCPP security profiles: 1 = HTTP Basic over ws://, 2 = TLS server certificate + HTTP Basic,
3 = mutual TLS (the charger's client certificate, CN = its identity; password optional)."""


class OcppConfigError(AdapterError):
    """The CSMS or emulator configuration is inconsistent (message says what to change)."""


@dataclass(frozen=True)
class ChargerAuth:
    """One charger allowed to connect.

    Attributes:
        password: HTTP Basic password (OCPP security profile 1/2); None = no password asked
            (profile 0, lab use only). The Basic user name must equal the charger identity.
            Under profile 3 the client certificate authenticates the charger and a password
            is optional; one configured here is still required and checked.
        can_discharge: force the V2G capability; None = decide from the protocol (2.1 only)
            and the EV's reported energy transfer modes.
        connector_id: connector / EVSE the twin controls, 1-based.
    """

    password: str | None = None
    can_discharge: bool | None = None
    connector_id: int = 1


@dataclass
class CsmsConfig:
    """Settings of `CentralSystem`.

    Attributes:
        host: address to bind; loopback by default, set "0.0.0.0" deliberately for a lab LAN.
        port: TCP port; 0 = any free port (read it back from `CentralSystem.port`).
        chargers: identity -> ChargerAuth; any other identity is refused at the handshake.
        tls_cert: PEM certificate (chain) for wss:// (security profile 2); None = plain ws://.
        tls_key: PEM private key matching `tls_cert`.
        client_ca: PEM CA bundle that signs the chargers' client certificates (security
            profile 3): a charger without a certificate it signed fails the TLS handshake, and
            one whose certificate's subject CN is not its identity is refused (HTTP 401).
        security_profile: 1, 2 or 3; None = derived (3 with `client_ca`, 2 with `tls_cert`,
            else 1). Given explicitly, the TLS settings must match it (checked by `validate`).
        meter_interval_s: meter sampling interval asked of every charger, s (integer >= 1).
        heartbeat_interval_s: heartbeat interval returned in BootNotification, s.
        response_timeout_s: time a charger has to answer a CSMS request, s.
        max_message_bytes: larger frames close that charger's connection (code 1009). 64 KiB
            holds any OCPP 1.6/2.0.1/2.1 message a charger sends the twin (a full-size
            certificate chain is ~10 KiB; NotifyReport is split into parts by the charger).
        ping_interval_s: websocket keep-alive ping interval, s; None disables pings.
        allow_no_password: accept chargers configured without a password (security profile 0:
            anyone who knows the identity can take it over). False = such a configuration is
            refused; True = accepted with a warning on every start.
        max_connections: open TCP connections at most (authenticated or not); None = two per
            configured charger + `max_pending`. Always kept below the process's file limit.
        max_connections_per_ip: open connections per remote IP at most; None = no per-IP cap
            (chargers behind one NAT router share an IP).
        max_pending: connections that have not authenticated yet, at most; at the cap the
            oldest of them is dropped (idle sockets cannot crowd out a charger).
        max_pending_per_ip: the same per remote IP (oldest of that IP dropped).
        handshake_timeout_s: time to complete TLS + the websocket/HTTP handshake, s.
        rate_messages_per_s: sustained messages a charger may send, per connection (beyond,
            its frames wait; the others are not slowed).
        rate_burst_messages: messages a charger may send at once (boot, reconnect).
        rate_bytes_per_s: sustained bytes a charger may send, per connection.
        login_failures_allowed: failed handshakes (unknown identity, wrong password) per IP
            before that IP is locked out (HTTP 429 with Retry-After).
        login_lockout_s: first lock-out, s; doubled on each further one up to
            `login_lockout_max_s`.
        login_lockout_max_s: longest lock-out, s.
        event_history: recent events kept (`events()`); counts of every kind are kept always.
    """

    host: str = "127.0.0.1"
    port: int = 9000
    chargers: dict[str, ChargerAuth] = field(default_factory=dict)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    security_profile: int | None = None
    meter_interval_s: int = 10
    heartbeat_interval_s: int = 60
    response_timeout_s: float = 10.0
    max_message_bytes: int = 64 * 1024
    ping_interval_s: float | None = 20.0
    allow_no_password: bool = False
    max_connections: int | None = None
    max_connections_per_ip: int | None = None
    max_pending: int = 256
    max_pending_per_ip: int = 128
    handshake_timeout_s: float = 10.0
    rate_messages_per_s: float = 20.0
    rate_burst_messages: int = 200
    rate_bytes_per_s: float = 256 * 1024
    login_failures_allowed: int = 10
    login_lockout_s: float = 1.0
    login_lockout_max_s: float = 300.0
    event_history: int = 1000

    def effective_security_profile(self) -> int:
        """`security_profile`, or the one the TLS settings give (3, 2 or 1)."""
        if self.security_profile is not None:
            return self.security_profile
        if self.client_ca is not None:
            return 3
        return 2 if self.tls_cert is not None else 1

    def unprotected(self) -> list[str]:
        """Identities anyone who knows them may take over: configured without a password and
        not protected by a client certificate (profile 3)."""
        if self.effective_security_profile() == 3:
            return []
        return sorted(i for i, auth in self.chargers.items() if auth.password is None)

    def connection_cap(self) -> int:
        """`max_connections`, or its default from the number of chargers."""
        if self.max_connections is not None:
            return self.max_connections
        return 2 * len(self.chargers) + self.max_pending

    def validate(self) -> None:
        """Check the settings.

        Raises:
            OcppConfigError: naming every setting that must change.
        """
        problems = []
        if not self.chargers:
            problems.append("chargers: list at least one charger identity")
        for identity, auth in self.chargers.items():
            if (
                not identity
                or "/" in identity
                or len(identity) > 48
                or not identity.isprintable()
                or identity != identity.strip()
            ):
                problems.append(
                    f"chargers.{identity!r}: identity must be 1..48 printable chars without '/' "
                    "or surrounding spaces"
                )
            if auth.password is not None and (":" in identity or not auth.password):
                problems.append(
                    f"chargers.{identity}: Basic auth needs a non-empty password and no ':' "
                    "in the identity"
                )
            if auth.connector_id < 1:
                problems.append(f"chargers.{identity}.connector_id must be >= 1")
        unprotected = self.unprotected()
        if unprotected and not self.allow_no_password:
            shown = ", ".join(unprotected[:5]) + (" ..." if len(unprotected) > 5 else "")
            problems.append(
                f"chargers {shown}: no password - anyone who knows the identity could take the "
                "charger over; give each a password (or opt out explicitly: allow_no_password, "
                "`twin csms --allow-no-password`)"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            problems.append("tls_cert and tls_key must be given together")
        problems.extend(self._security_profile_problems())
        for name in ("tls_cert", "tls_key", "client_ca"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                problems.append(f"{name}: file {path} does not exist")
        if int(self.meter_interval_s) != self.meter_interval_s or self.meter_interval_s < 1:
            problems.append(
                f"meter_interval_s must be a whole number >= 1 (got {self.meter_interval_s})"
            )
        if self.heartbeat_interval_s < 1:
            problems.append("heartbeat_interval_s must be >= 1")
        if not self.response_timeout_s > 0:
            problems.append("response_timeout_s must be > 0")
        if self.max_message_bytes < 4096:
            problems.append("max_message_bytes must be >= 4096 (OCPP messages need room)")
        if self.max_connections is not None and self.max_connections < 1:
            problems.append("max_connections must be >= 1 (or None for the default)")
        if self.max_connections_per_ip is not None and self.max_connections_per_ip < 1:
            problems.append("max_connections_per_ip must be >= 1 (or None for no cap)")
        if self.max_pending < 1 or self.max_pending_per_ip < 1:
            problems.append("max_pending and max_pending_per_ip must be >= 1")
        positive = (
            "handshake_timeout_s",
            "rate_messages_per_s",
            "rate_bytes_per_s",
            "login_lockout_s",
            "login_lockout_max_s",
        )
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < float("inf")):
                problems.append(f"{name} must be a finite number > 0 (got {value!r})")
        if self.rate_burst_messages < 1 or self.login_failures_allowed < 1:
            problems.append("rate_burst_messages and login_failures_allowed must be >= 1")
        if self.event_history < 1:
            problems.append("event_history must be >= 1")
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not a TCP port")
        if problems:
            raise OcppConfigError("CSMS configuration: " + "; ".join(problems))

    def _security_profile_problems(self) -> list[str]:
        """What contradicts the (explicit or derived) security profile."""
        profile = self.security_profile
        if profile is not None and profile not in SECURITY_PROFILES:
            return [f"security_profile must be 1, 2 or 3 (got {profile!r})"]
        profile = self.effective_security_profile()
        problems = []
        if profile == 1 and self.tls_cert is not None:
            problems.append("security_profile 1 is plain ws://: remove tls_cert or use 2")
        if profile >= 2 and self.tls_cert is None:
            problems.append(f"security_profile {profile} needs tls_cert and tls_key (wss://)")
        if profile == 3 and self.client_ca is None:
            problems.append(
                "security_profile 3 needs client_ca (the CA that signs the chargers' client "
                "certificates)"
            )
        if profile < 3 and self.client_ca is not None:
            problems.append(f"client_ca is only used by security_profile 3 (got {profile})")
        return problems

    def ssl_context(self) -> ssl.SSLContext | None:
        """Server TLS context from `tls_cert`/`tls_key`, or None for plain ws://. TLS 1.2 at
        least; with `client_ca` (profile 3) a client certificate it signed is required.

        Raises:
            OcppConfigError: the files cannot be loaded as certificate and key (or CA).
        """
        if self.tls_cert is None or self.tls_key is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(str(self.tls_cert), str(self.tls_key), password=_no_password)
        except (ssl.SSLError, OSError) as exc:
            raise OcppConfigError(
                f"cannot load TLS certificate {self.tls_cert} / key {self.tls_key}: {exc}"
                f"{_KEY_HINT}"
            ) from exc
        if self.client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            try:
                context.load_verify_locations(cafile=str(self.client_ca))
            except (ssl.SSLError, OSError) as exc:
                raise OcppConfigError(f"client_ca: cannot load {self.client_ca}: {exc}") from exc
        return context


_KEY_HINT = " (the key must be an unencrypted PEM key of that certificate)"


def _no_password() -> bytes:
    # Without a callback OpenSSL would prompt on the terminal for an encrypted key's passphrase
    # (a service would hang); an empty one makes loading fail with an error instead.
    return b""


def client_ssl_context(
    ca_file: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
) -> ssl.SSLContext | None:
    """Charger-side TLS context: trust `ca_file` (None = the system's CAs) and present
    `client_cert`/`client_key` (security profile 3). None when nothing is given (ws://).

    Raises:
        OcppConfigError: naming the file that cannot be loaded (paths only, never contents).
    """
    if client_cert is None and client_key is None and ca_file is None:
        return None
    if (client_cert is None) != (client_key is None):
        raise OcppConfigError("client certificate and key must be given together")
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise OcppConfigError(f"cannot load CA file {ca_file}: {exc}") from exc
    if client_cert is not None and client_key is not None:
        try:
            context.load_cert_chain(str(client_cert), str(client_key), password=_no_password)
        except (OSError, ssl.SSLError) as exc:
            raise OcppConfigError(
                f"cannot load client certificate {client_cert} / key {client_key}: {exc}{_KEY_HINT}"
            ) from exc
    return context
