"""Handshake security: known identities only, HTTP Basic per charger, TLS (profile 2), loopback."""

import base64
import ssl

import pytest
from ocpp_lab import PASSWORD, eventually, raw_client
from websockets.exceptions import InvalidStatus

from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError
from adapters.testing.ocpp.emulator import EmulatorError


def test_unknown_identity_is_refused_like_a_wrong_password(run_lab):
    # 404 for unknown vs 401 for a wrong password told anyone which identities exist.
    async def scenario(lab):
        system = await lab.csms()
        with pytest.raises(InvalidStatus) as refused:
            await raw_client(system, "INTRUDER")
        with pytest.raises(InvalidStatus) as wrong:
            await raw_client(system, "CP1", password="wrong-password-123456")
        unknown, known = refused.value.response, wrong.value.response
        assert unknown.status_code == known.status_code == 401
        assert unknown.body == known.body
        assert dict(unknown.headers) == dict(known.headers)
        assert system.connected() == []
        assert [e["kind"] for e in system.events() if e["charger_id"] == "INTRUDER"] == ["refused"]

    run_lab(scenario)


@pytest.mark.parametrize("password", ["wrong-password-123456", None], ids=["wrong", "missing"])
def test_bad_credentials_are_refused_with_401(run_lab, password):
    async def scenario(lab):
        system = await lab.csms()
        with pytest.raises(InvalidStatus) as refused:
            await raw_client(system, "CP1", password=password)
        assert refused.value.response.status_code == 401
        assert refused.value.response.headers["WWW-Authenticate"].startswith("Basic")
        assert system.connected() == []

    run_lab(scenario)


def test_basic_user_must_be_the_identity(run_lab):
    async def scenario(lab):
        system = await lab.csms(
            {"CP1": ChargerAuth(password=PASSWORD), "CP2": ChargerAuth(password="other-pw-99")}
        )
        # CP2's valid credentials do not open CP1's path.
        token = base64.b64encode(b"CP2:other-pw-99").decode()
        with pytest.raises(InvalidStatus) as refused:
            await raw_client(
                system, "CP1", password=None, additional_headers={"Authorization": f"Basic {token}"}
            )
        assert refused.value.response.status_code == 401

    run_lab(scenario)


def test_missing_subprotocol_is_refused(run_lab):
    async def scenario(lab):
        system = await lab.csms()
        with pytest.raises(InvalidStatus) as refused:
            await raw_client(system, "CP1", subprotocol="ocpp9.9")
        assert refused.value.response.status_code == 400

    run_lab(scenario)


def test_tls_security_profile_2(run_lab, tls_files):
    cert, key = tls_files

    async def scenario(lab):
        system = await lab.csms(tls_cert=cert, tls_key=key)
        assert system.url.startswith("wss://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=str(cert))
        emulator = await lab.emulator(system, "CP1", "2.0.1", ssl_context=trusting)
        adapter = system.adapter("CP1")
        await adapter.set_power(3.0)

        async def at_3_kw():
            return abs((await adapter.read()).power_kw - 3.0) < 0.05

        await eventually(at_3_kw, what="3 kW over wss")
        assert emulator.connected

        # A client that does not trust the certificate cannot connect.
        untrusting = ssl.create_default_context()
        with pytest.raises(EmulatorError, match="CERTIFICATE_VERIFY_FAILED|certificate verify"):
            await lab.emulator(system, "CP1", "1.6", ssl_context=untrusting)

    run_lab(scenario)


def test_binds_loopback_by_default(run_lab):
    assert CsmsConfig().host == "127.0.0.1"

    async def scenario(lab):
        system = await lab.csms()
        assert system._server.sockets[0].getsockname()[0] == "127.0.0.1"

    run_lab(scenario)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"chargers": {}}, "at least one charger"),
        ({"tls_cert": "cert.pem"}, "together"),
        ({"meter_interval_s": 0.5}, "whole number"),
        ({"chargers": {"a/b": ChargerAuth()}}, "without '/'"),
        ({"max_message_bytes": 100}, "max_message_bytes"),
    ],
)
def test_config_errors_say_what_to_fix(settings, message):
    settings.setdefault("chargers", {"CP1": ChargerAuth()})
    with pytest.raises(OcppConfigError, match=message):
        CsmsConfig(**settings).validate()


def test_missing_tls_files_are_named(tmp_path):
    config = CsmsConfig(
        chargers={"CP1": ChargerAuth()},
        tls_cert=tmp_path / "nope.pem",
        tls_key=tmp_path / "nokey.pem",
    )
    with pytest.raises(OcppConfigError, match="nope.pem"):
        config.validate()


@pytest.mark.parametrize(
    ("offered", "chosen", "version"),
    [
        (["ocpp1.6", "ocpp2.0.1"], "ocpp2.0.1", "2.0.1"),
        (["ocpp1.6", "ocpp2.1", "ocpp2.0.1"], "ocpp2.1", "2.1"),
        (["ocpp9.9", "ocpp1.6"], "ocpp1.6", "1.6"),
    ],
)
def test_charger_offering_several_versions_gets_the_newest_both_speak(
    run_lab, offered, chosen, version
):
    # Real chargers often offer several subprotocols; the CSMS takes the newest it supports and
    # speaks that version on the connection (a 1.6 BootNotification would be wrong on 2.0.1).
    import base64 as b64

    from websockets.asyncio.client import connect

    async def scenario(lab):
        system = await lab.csms()
        token = b64.b64encode(f"CP1:{PASSWORD}".encode()).decode()
        async with connect(
            f"{system.url}/CP1",
            subprotocols=offered,
            proxy=None,
            open_timeout=3,
            additional_headers={"Authorization": f"Basic {token}"},
        ) as ws:
            assert ws.subprotocol == chosen
            await eventually(
                lambda: any(
                    c.charger_id == "CP1" and c.version == version for c in system.connected()
                ),
                what=f"CP1 on OCPP {version}",
            )

    run_lab(scenario)
