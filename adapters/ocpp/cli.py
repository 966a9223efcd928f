"""`twin csms` and `twin emulate ocpp` commands (mounted by twin/cli/main.py via `register_cli`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from adapters.base import AdapterError
from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError, client_ssl_context
from twin.cli.options import fail

PASSWORDS_ENV = "TWIN_CSMS_PASSWORDS"
"""Environment variable with charger passwords: `ID:PASSWORD` entries, one per line."""

EMULATOR_PASSWORD_ENV = "TWIN_OCPP_PASSWORD"
"""Environment variable with the emulated charger's password (`twin emulate ocpp`)."""


SECURITY_PROFILE_LINES: dict[int, str] = {
    1: "OCPP security profile 1: HTTP Basic over plain ws:// (lab LAN only)",
    2: "OCPP security profile 2: TLS server certificate + HTTP Basic",
    3: "OCPP security profile 3: mutual TLS, client certificate CN = charger identity",
}
"""What `twin csms` prints at start for each security profile."""


def parse_charger_option(value: str) -> tuple[str, ChargerAuth]:
    """`ID` or `ID:PASSWORD` -> (identity, ChargerAuth).

    Raises:
        OcppConfigError: empty identity.
    """
    identity, sep, password = value.partition(":")
    if not identity:
        raise OcppConfigError(f"--charger {value!r}: expected ID or ID:PASSWORD")
    return identity, ChargerAuth(password=password if sep else None)


def parse_passwords(text: str, source: str) -> dict[str, str]:
    """`ID:PASSWORD` lines (blank lines and `#` comments skipped) -> {identity: password}.

    Raises:
        OcppConfigError: `source: line N: reason` for a line without ID or password.
    """
    passwords: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        identity, sep, password = line.partition(":")
        if not identity or not sep or not password:
            raise OcppConfigError(f"{source}: line {number}: expected ID:PASSWORD")
        passwords[identity] = password
    return passwords


def read_password_file(path: Path) -> dict[str, str]:
    """Passwords from a file of `ID:PASSWORD` lines (at most 1 MB).

    Raises:
        OcppConfigError: unreadable, too large, not UTF-8, or a bad line.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(1_000_001)
    except OSError as exc:
        raise OcppConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > 1_000_000:
        raise OcppConfigError(f"{path}: larger than 1 MB; expected ID:PASSWORD lines")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OcppConfigError(f"{path}: not UTF-8 text") from exc
    return parse_passwords(text, str(path))


def csms_chargers(
    chargers: list[str], password_file: Path | None, environ: dict[str, str]
) -> tuple[dict[str, ChargerAuth], list[str]]:
    """The `twin csms` charger list and its warnings.

    Passwords come from `password_file`, then `TWIN_CSMS_PASSWORDS`, then (deprecated: visible
    in `ps`) `--charger ID:PASSWORD`. Identities of the password sources need no `--charger`.

    Raises:
        OcppConfigError: bad file or variable, or no charger at all.
    """
    warnings: list[str] = []
    passwords: dict[str, str] = {}
    if password_file is not None:
        passwords.update(read_password_file(password_file))
    if environ.get(PASSWORDS_ENV):
        for identity, password in parse_passwords(environ[PASSWORDS_ENV], PASSWORDS_ENV).items():
            passwords.setdefault(identity, password)
    result: dict[str, ChargerAuth] = {}
    for value in chargers:
        identity, auth = parse_charger_option(value)
        if auth.password is not None:
            warnings.append(
                f"warning: --charger {identity}:... puts the password on the command line, "
                f"visible to every user in `ps`; use --password-file or {PASSWORDS_ENV}"
            )
        password = passwords.get(identity, auth.password)
        result[identity] = ChargerAuth(password=password)
    for identity, password in passwords.items():
        result.setdefault(identity, ChargerAuth(password=password))
    if not result:
        raise OcppConfigError(
            "no charger: give --charger ID (repeat), with passwords in --password-file "
            f"or {PASSWORDS_ENV}"
        )
    return result, warnings


def _run(coro) -> None:
    """Run until Ctrl-C; typed errors become one line and exit code 2."""
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(coro)
    except AdapterError as exc:
        fail([f"error: {exc}"])


def register_cli(app: typer.Typer, emulate_app: typer.Typer) -> None:
    """Add `csms` to `app` and `ocpp` to `emulate_app`."""

    @app.command("csms")
    def csms(
        charger: Annotated[
            list[str] | None,
            typer.Option(
                "--charger",
                "-c",
                help="Allowed charger identity (repeat). ID:PASSWORD still works but shows the "
                "password in `ps`: use --password-file or TWIN_CSMS_PASSWORDS.",
            ),
        ] = None,
        password_file: Annotated[
            Path | None,
            typer.Option(help="File of ID:PASSWORD lines (its chargers need no --charger)."),
        ] = None,
        allow_no_password: Annotated[
            bool,
            typer.Option(
                help="INSECURE: accept chargers without a password (anyone can take them over)."
            ),
        ] = False,
        host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 for a lab LAN).")] = (
            "127.0.0.1"
        ),
        port: Annotated[int, typer.Option(help="TCP port.")] = 9000,
        tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate for wss://.")] = None,
        tls_key: Annotated[Path | None, typer.Option(help="PEM private key for wss://.")] = None,
        client_ca: Annotated[
            Path | None,
            typer.Option(
                help="PEM CA that signs the chargers' client certificates: security profile 3 "
                "(mutual TLS, certificate CN = charger identity; needs --tls-cert/--tls-key)."
            ),
        ] = None,
        meter_interval_s: Annotated[int, typer.Option(help="Meter sampling interval, s.")] = 10,
    ) -> None:
        """Run the OCPP central system (1.6J, 2.0.1, 2.1) and print chargers as they come.

        Passwords: --password-file FILE or the TWIN_CSMS_PASSWORDS variable, `ID:PASSWORD` per
        line."""
        try:
            chargers, warnings = csms_chargers(charger or [], password_file, dict(os.environ))
            config = CsmsConfig(
                host=host,
                port=port,
                chargers=chargers,
                tls_cert=tls_cert,
                tls_key=tls_key,
                client_ca=client_ca,
                meter_interval_s=meter_interval_s,
                allow_no_password=allow_no_password,
            )
            config.validate()
        except AdapterError as exc:
            fail([f"error: {exc}"])
        for warning in warnings:
            print(warning, file=sys.stderr)
        if config.unprotected():
            print(
                f"WARNING: INSECURE: {len(config.unprotected())} charger(s) accept any client "
                "without a password (--allow-no-password): anyone who knows the identity can "
                "take the charger over",
                file=sys.stderr,
            )
        print(SECURITY_PROFILE_LINES[config.effective_security_profile()], flush=True)
        import ocpp.messages

        from adapters.ocpp.central_system import serve_forever  # ocpp + websockets: only when run

        # This process hosts the CSMS alone: validate payloads on the loop instead of a thread
        # hop per message (~12 % of its CPU in a reconnect storm). Not set where emulators share
        # the process: the OCPP emulator handles the CSMS's next call before its own call()
        # returns, and a faster CSMS hits that (a TxProfile right after StartTransaction).
        ocpp.messages.ASYNC_VALIDATION = False
        _run(serve_forever(config))

    @emulate_app.command("ocpp")
    def emulate_ocpp(
        url: Annotated[str, typer.Option(help="CSMS base URL, e.g. ws://127.0.0.1:9000/ocpp")],
        charger_id: Annotated[str, typer.Option("--id", help="Charge point identity.")],
        version: Annotated[str, typer.Option(help="OCPP version: 1.6, 2.0.1 or 2.1.")] = "1.6",
        password: Annotated[
            str | None,
            typer.Option(
                help="HTTP Basic password (visible in `ps`; prefer TWIN_OCPP_PASSWORD).",
                envvar=EMULATOR_PASSWORD_ENV,
            ),
        ] = None,
        ca_file: Annotated[Path | None, typer.Option(help="CA certificate for wss://.")] = None,
        client_cert: Annotated[
            Path | None,
            typer.Option(help="PEM client certificate to present (security profile 3)."),
        ] = None,
        client_key: Annotated[
            Path | None,
            typer.Option(help="PEM private key of --client-cert (unencrypted; keep it mode 600)."),
        ] = None,
        max_power_kw: Annotated[float, typer.Option(help="EV maximum power, kW.")] = 11.0,
        battery_kwh: Annotated[float, typer.Option(help="EV battery, kWh.")] = 60.0,
        soc: Annotated[float, typer.Option(help="EV state of charge at plug-in, 0..1.")] = 0.5,
        discharge: Annotated[bool, typer.Option(help="EV can discharge (OCPP 2.1).")] = False,
    ) -> None:
        """Emulate one OCPP charge point with an EV plugged in."""
        from adapters.testing.ocpp.emulator import run_emulator  # test double: only when run

        try:
            context = client_ssl_context(ca_file, client_cert, client_key)
        except OcppConfigError as exc:  # names the files, never their contents
            fail([f"error: {exc}"])
        _run(
            run_emulator(
                url,
                charger_id,
                version,
                password,
                ssl_context=context,
                max_power_kw=max_power_kw,
                battery_kwh=battery_kwh,
                soc_initial=soc,
                can_discharge=discharge,
            )
        )
