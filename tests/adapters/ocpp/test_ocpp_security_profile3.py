"""OCPP security profile 3: mutual TLS, the client certificate's CN must be the identity.

Every certificate is made here (a lab CA, a server certificate for 127.0.0.1, client
certificates for CP001 and CP002, and a certificate of another CA); the CSMS and the chargers
talk over real TLS websockets on 127.0.0.1.
"""

import asyncio
import datetime as dt
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ocpp_lab import PASSWORD, eventually
from typer.testing import CliRunner
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus
from websockets.sync.client import connect as sync_connect

from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError, client_ssl_context
from adapters.testing.ocpp.emulator import EmulatorError
from tests.adapters.ocpp.test_ocpp_csms_command import _free_port, _wait_for_line

ROOT = Path(__file__).resolve().parents[3]
KEY_MARKER = "MHcCAQEEI"
"""Start of the base64 body of every EC P-256 private key PEM (must never be printed)."""


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: Issued
    cp001: Issued
    cp002: Issued
    cp001_other_ca: Issued
    other_ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "EV fleet twin lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def _write_cert(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _make_ca(folder: Path, common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_cert(cert, folder / f"{common_name}.pem")
    return cert, key


def _issue(
    folder: Path,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    common_name: str,
    file_stem: str,
    *,
    server: bool,
) -> Issued:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    return Issued(
        _write_cert(cert, folder / f"{file_stem}.crt"),
        _write_key(key, folder / f"{file_stem}.key"),
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    lab_ca = _make_ca(folder, "lab-ca")
    rogue_ca = _make_ca(folder, "rogue-ca")
    return Pki(
        ca=folder / "lab-ca.pem",
        server=_issue(folder, lab_ca, "127.0.0.1", "server", server=True),
        cp001=_issue(folder, lab_ca, "CP001", "cp001", server=False),
        cp002=_issue(folder, lab_ca, "CP002", "cp002", server=False),
        cp001_other_ca=_issue(folder, rogue_ca, "CP001", "cp001-rogue", server=False),
        other_ca=folder / "rogue-ca.pem",
    )


def _profile3(pki: Pki, **settings) -> dict:
    """CSMS settings of profile 3 with CP001 and CP002 (no passwords: the certificate is it)."""
    chargers = settings.pop("chargers", {"CP001": ChargerAuth(), "CP002": ChargerAuth()})
    return {
        "chargers": chargers,
        "tls_cert": pki.server.cert,
        "tls_key": pki.server.key,
        "client_ca": pki.ca,
        **settings,
    }


def _client(pki: Pki, issued: Issued | None) -> ssl.SSLContext:
    context = client_ssl_context(
        pki.ca, issued.cert if issued else None, issued.key if issued else None
    )
    assert context is not None
    return context


async def _handshake(system, identity: str, context: ssl.SSLContext):
    return await connect(
        f"{system.url}/{identity}",
        subprotocols=["ocpp2.0.1"],
        ssl=context,
        proxy=None,
        open_timeout=3,
    )


def _kinds(system, identity: str) -> list[str]:
    return [event["kind"] for event in system.events() if event["charger_id"] == identity]


def test_charger_with_its_certificate_boots_without_a_password(run_lab, pki):
    async def scenario(lab):
        system = await lab.csms(**_profile3(pki))
        assert system.url.startswith("wss://127.0.0.1:")
        assert system.config.effective_security_profile() == 3
        # No password configured, yet not "INSECURE": the certificate authenticates.
        assert not any("INSECURE" in e["detail"] for e in system.events())

        emulator = await lab.emulator(
            system, "CP001", "2.0.1", password=None, ssl_context=_client(pki, pki.cp001)
        )
        assert emulator.connected
        await eventually(lambda: "boot" in _kinds(system, "CP001"), what="CP001 booted")
        assert [c.charger_id for c in system.connected()] == ["CP001"]
        assert "refused" not in _kinds(system, "CP001")

    run_lab(scenario)


async def _refused_in_tls(system, context: ssl.SSLContext, caplog) -> str:
    """Connect as CP001 with `context`: it must fail before any HTTP response. Returns what
    the TLS layers logged about the failed handshakes (server side and client side)."""
    # asyncio says why a server-side handshake failed only in debug mode (else silently drops).
    asyncio.get_running_loop().set_debug(True)
    caplog.set_level(logging.DEBUG, logger="asyncio")
    with pytest.raises((InvalidMessage, ssl.SSLError, OSError)):  # not InvalidStatus (HTTP)
        await _handshake(system, "CP001", context)

    def failures() -> str:
        return " ".join(
            repr(record.exc_info[1])
            for record in caplog.records
            if "SSL handshake failed" in record.getMessage() and record.exc_info
        )

    await eventually(lambda: bool(failures()), what="the handshake failure logged")
    assert system.connected() == []
    assert _kinds(system, "CP001") == []  # never reached the websocket layer
    assert system.connection_counts()["open"] == 0
    return failures()


def test_no_client_certificate_fails_the_tls_handshake(run_lab, pki, caplog):
    async def scenario(lab):
        system = await lab.csms(**_profile3(pki))
        reason = await _refused_in_tls(system, _client(pki, None), caplog)
        assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in reason

    run_lab(scenario)


def test_certificate_of_another_charger_is_refused_with_401(run_lab, pki):
    async def scenario(lab):
        system = await lab.csms(**_profile3(pki))
        with pytest.raises(InvalidStatus) as refused:
            await _handshake(system, "CP001", _client(pki, pki.cp002))
        assert refused.value.response.status_code == 401
        assert system.connected() == []
        [event] = [e for e in system.events() if e["kind"] == "refused"]
        assert event["charger_id"] == "CP001"
        assert "CN 'CP002' is not the identity" in event["detail"]
        assert "boot" not in _kinds(system, "CP001")
        # The same certificate opens its own identity.
        websocket = await _handshake(system, "CP002", _client(pki, pki.cp002))
        await eventually(lambda: [c.charger_id for c in system.connected()] == ["CP002"])
        await websocket.close()

    run_lab(scenario)


def test_certificate_of_another_ca_fails_the_tls_handshake(run_lab, pki, caplog):
    async def scenario(lab):
        system = await lab.csms(**_profile3(pki))
        reason = await _refused_in_tls(system, _client(pki, pki.cp001_other_ca), caplog)
        assert "CERTIFICATE_VERIFY_FAILED" in reason and "local issuer" in reason

    run_lab(scenario)


def test_a_csms_trusting_the_other_ca_accepts_that_certificate(run_lab, pki):
    # Control for the test above: the certificate itself is sound, only its CA is not trusted.
    async def scenario(lab):
        system = await lab.csms(**_profile3(pki, client_ca=pki.other_ca))
        websocket = await _handshake(system, "CP001", _client(pki, pki.cp001_other_ca))
        await eventually(lambda: [c.charger_id for c in system.connected()] == ["CP001"])
        await websocket.close()

    run_lab(scenario)


def _tls11_client(pki: Pki) -> ssl.SSLContext:
    context = _client(pki, pki.cp001)
    # Lowest security level so that this OpenSSL offers TLS 1.0/1.1 at all: the refusal
    # must then come from the CSMS's minimum version, not from the client.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def test_tls_1_1_is_still_refused(run_lab, pki, caplog):
    async def scenario(lab):
        system = await lab.csms(**_profile3(pki))
        reason = await _refused_in_tls(system, _tls11_client(pki), caplog)
        assert "UNSUPPORTED_PROTOCOL" in reason

    run_lab(scenario)


def test_the_tls_1_1_client_is_able_to_speak_tls_1_1(pki):
    # Control for the test above: against a server that allows TLS 1.1 the same client
    # completes the handshake on TLS 1.1 (so the CSMS's refusal is what the test measures).

    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.set_ciphers("DEFAULT:@SECLEVEL=0")
    server.minimum_version = ssl.TLSVersion.TLSv1
    server.load_cert_chain(str(pki.server.cert), str(pki.server.key))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept_one() -> None:
            raw, _ = listener.accept()
            with raw, server.wrap_socket(raw, server_side=True):
                pass

        thread = threading.Thread(target=accept_one, daemon=True)
        thread.start()
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            _tls11_client(pki).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.version() == "TLSv1.1"
        thread.join(5)


def test_a_configured_password_is_still_checked_under_profile_3(run_lab, pki):
    async def scenario(lab):
        chargers = {"CP001": ChargerAuth(password=PASSWORD)}
        system = await lab.csms(**_profile3(pki, chargers=chargers))
        context = _client(pki, pki.cp001)
        with pytest.raises(EmulatorError, match="401"):
            await lab.emulator(
                system, "CP001", "1.6", password="wrong-password-123456", ssl_context=context
            )
        assert system.connected() == []
        emulator = await lab.emulator(
            system, "CP001", "1.6", password=PASSWORD, ssl_context=context
        )
        assert emulator.connected
        await eventually(lambda: "boot" in _kinds(system, "CP001"), what="CP001 booted")

    run_lab(scenario)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"security_profile": 3, "client_ca": None}, "client_ca"),
        ({"tls_cert": None, "tls_key": None}, "tls_cert"),
        ({"security_profile": 2}, "client_ca is only used by security_profile 3"),
        ({"security_profile": 4}, "security_profile must be 1, 2 or 3"),
        ({"security_profile": 1}, "remove tls_cert"),
        ({"client_ca": Path("missing-ca.pem")}, "client_ca: file missing-ca.pem does not exist"),
    ],
)
def test_inconsistent_security_profile_names_the_field(pki, settings, field):
    config = CsmsConfig(**_profile3(pki, **settings))
    with pytest.raises(OcppConfigError, match=field):
        config.validate()


def test_security_profile_is_derived_from_the_tls_settings(pki):
    chargers = {"CP001": ChargerAuth(password=PASSWORD)}
    assert CsmsConfig(chargers=chargers).effective_security_profile() == 1
    profile2 = CsmsConfig(chargers=chargers, tls_cert=pki.server.cert, tls_key=pki.server.key)
    assert profile2.effective_security_profile() == 2
    profile2.validate()
    assert profile2.ssl_context().verify_mode == ssl.CERT_NONE
    profile3 = CsmsConfig(**_profile3(pki))
    profile3.validate()
    context = profile3.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    # Without the client CA the same passwordless chargers would be takeover targets.
    assert CsmsConfig(chargers={"CP001": ChargerAuth()}).unprotected() == ["CP001"]
    assert profile3.unprotected() == []


def test_key_problems_name_the_file_never_its_contents(pki, tmp_path):
    # A key that does not match the certificate: the error names both paths only.
    with pytest.raises(OcppConfigError) as mismatched:
        client_ssl_context(pki.ca, pki.cp001.cert, pki.cp002.key)
    message = str(mismatched.value)
    assert str(pki.cp001.cert) in message and str(pki.cp002.key) in message
    assert KEY_MARKER not in message and "PRIVATE KEY" not in message
    assert KEY_MARKER in pki.cp002.key.read_text()  # the marker would show a leaked key
    with pytest.raises(OcppConfigError, match="together"):
        client_ssl_context(pki.ca, pki.cp001.cert, None)


def test_an_encrypted_key_is_an_error_not_a_passphrase_prompt(pki, tmp_path):
    key = serialization.load_pem_private_key(pki.cp001.key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"lab-passphrase"),
        )
    )
    with pytest.raises(OcppConfigError, match="unencrypted PEM key"):
        client_ssl_context(pki.ca, pki.cp001.cert, encrypted)
    server = CsmsConfig(**_profile3(pki, tls_cert=pki.cp001.cert, tls_key=encrypted))
    with pytest.raises(OcppConfigError, match="unencrypted PEM key"):
        server.ssl_context()


def test_emulate_ocpp_presents_the_client_certificate(cli_app, pki, monkeypatch, run_lab):
    # The command's TLS context is captured and then used against a real profile-3 CSMS.
    import adapters.testing.ocpp.emulator as emulator_module

    captured: dict = {}

    async def fake_run_emulator(url, charger_id, version, password, **kwargs):
        captured.update(kwargs, url=url, charger_id=charger_id)

    monkeypatch.setattr(emulator_module, "run_emulator", fake_run_emulator)
    args = ["emulate", "ocpp", "--url", "wss://127.0.0.1:1/ocpp", "--id", "CP001"]
    args += ["--ca-file", str(pki.ca), "--client-cert", str(pki.cp001.cert)]
    result = CliRunner().invoke(cli_app, [*args, "--client-key", str(pki.cp001.key)])
    assert result.exit_code == 0, result.output
    context = captured["ssl_context"]
    assert KEY_MARKER not in result.output

    async def scenario(lab):
        system = await lab.csms(**_profile3(pki))
        emulator = await lab.emulator(system, "CP001", "2.1", password=None, ssl_context=context)
        assert emulator.connected
        await eventually(lambda: "boot" in _kinds(system, "CP001"), what="CP001 booted")

    run_lab(scenario)

    # Half a key pair is a one-line error naming what to add.
    result = CliRunner().invoke(cli_app, [*args])
    assert result.exit_code == 2
    assert "together" in result.output and "Traceback" not in result.output


def test_twin_csms_client_ca_needs_the_server_certificate(pki):
    result = subprocess.run(
        [sys.executable, "-m", "twin.cli", "csms", "--charger", "CP001"]
        + ["--port", "0", "--client-ca", str(pki.ca)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "security_profile 3 needs tls_cert and tls_key" in output
    assert "Traceback" not in output
    # No "no password" complaint: under profile 3 the certificate authenticates.
    assert "no password" not in output


def test_twin_csms_with_client_ca_admits_only_the_matching_certificate(pki):
    port = _free_port()
    tls = ["--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key)]
    process = subprocess.Popen(
        [sys.executable, "-m", "twin.cli", "csms", "--charger", "CP001", "--port", str(port)]
        + [*tls, "--client-ca", str(pki.ca)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"wss://127.0.0.1:{port}/ocpp/CP001"
    try:
        _wait_for_line(process, "OCPP security profile 3: mutual TLS")
        _wait_for_line(process, "listening")
        with pytest.raises(InvalidStatus):
            sync_connect(url, subprotocols=["ocpp1.6"], ssl=_client(pki, pki.cp002), proxy=None)
        refused = _wait_for_line(process, "refused")
        assert refused.startswith("CP001: refused client certificate CN 'CP002'")
        with sync_connect(
            url, subprotocols=["ocpp1.6"], ssl=_client(pki, pki.cp001), proxy=None, open_timeout=30
        ) as websocket:
            boot = {"chargePointVendor": "V", "chargePointModel": "M"}
            websocket.send(json.dumps([2, "b", "BootNotification", boot]))
            _wait_for_line(process, "CP001: boot V M")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert "INSECURE" not in stdout + stderr  # no passwords, but certificates
    for path in (pki.server.key, pki.cp001.key):
        assert KEY_MARKER not in stdout + stderr, path


def test_hil_client_ca_makes_the_scenario_csms_profile_3(pki):
    from adapters.ocpp.protocol import build
    from adapters.registry import BoundCharger, HardwareContext
    from twin.config.schema import HilSpec

    hil = HilSpec(tls_cert=str(pki.server.cert), tls_key=str(pki.server.key), client_ca=pki.ca.name)
    binding = SimpleNamespace(password=PASSWORD, bidirectional=None)
    hardware = build(
        [BoundCharger("CP001", binding)], HardwareContext(hil=hil, base_dir=pki.ca.parent)
    )
    config = hardware.services[0].csms.config
    assert config.client_ca == pki.ca  # relative to the scenario's folder
    assert config.effective_security_profile() == 3
    assert config.ssl_context().verify_mode == ssl.CERT_REQUIRED
