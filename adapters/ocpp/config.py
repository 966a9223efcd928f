"""Configuration of the central system (CSMS): who may connect, how, and how to sample meters."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from adapters.base import AdapterError

SUPPORTED_SUBPROTOCOLS: tuple[str, ...] = ("ocpp2.1", "ocpp2.0.1", "ocpp1.6")
"""Offered in order of preference; websockets picks the first one the charger also offers."""


class OcppConfigError(AdapterError):
    """The CSMS or emulator configuration is inconsistent (message says what to change)."""


@dataclass(frozen=True)
class ChargerAuth:
    """One charger allowed to connect.

    Attributes:
        password: HTTP Basic password (OCPP security profile 1/2); None = no password asked
            (profile 0, lab use only). The Basic user name must equal the charger identity.
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
        meter_interval_s: meter sampling interval asked of every charger, s (integer >= 1).
        heartbeat_interval_s: heartbeat interval returned in BootNotification, s.
        response_timeout_s: time a charger has to answer a CSMS request, s.
        max_message_bytes: larger frames close that charger's connection (code 1009).
        ping_interval_s: websocket keep-alive ping interval, s; None disables pings.
    """

    host: str = "127.0.0.1"
    port: int = 9000
    chargers: dict[str, ChargerAuth] = field(default_factory=dict)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    meter_interval_s: int = 10
    heartbeat_interval_s: int = 60
    response_timeout_s: float = 10.0
    max_message_bytes: int = 256 * 1024
    ping_interval_s: float | None = 20.0

    def validate(self) -> None:
        """Check the settings.

        Raises:
            OcppConfigError: naming every setting that must change.
        """
        problems = []
        if not self.chargers:
            problems.append("chargers: list at least one charger identity")
        for identity, auth in self.chargers.items():
            if not identity or "/" in identity or len(identity) > 48:
                problems.append(f"chargers.{identity!r}: identity must be 1..48 chars without '/'")
            if auth.password is not None and (":" in identity or not auth.password):
                problems.append(
                    f"chargers.{identity}: Basic auth needs a non-empty password and no ':' "
                    "in the identity"
                )
            if auth.connector_id < 1:
                problems.append(f"chargers.{identity}.connector_id must be >= 1")
        if (self.tls_cert is None) != (self.tls_key is None):
            problems.append("tls_cert and tls_key must be given together")
        for name in ("tls_cert", "tls_key"):
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
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not a TCP port")
        if problems:
            raise OcppConfigError("CSMS configuration: " + "; ".join(problems))

    def ssl_context(self) -> ssl.SSLContext | None:
        """Server TLS context from `tls_cert`/`tls_key`, or None for plain ws://.

        Raises:
            OcppConfigError: the files cannot be loaded as certificate and key.
        """
        if self.tls_cert is None or self.tls_key is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(str(self.tls_cert), str(self.tls_key))
        except (ssl.SSLError, OSError) as exc:
            raise OcppConfigError(
                f"cannot load TLS certificate {self.tls_cert} / key {self.tls_key}: {exc}"
            ) from exc
        return context
