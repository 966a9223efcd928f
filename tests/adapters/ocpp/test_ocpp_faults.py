"""Robustness: bad frames answered per OCPP-J, oversized frames, disconnects, refusals, timeouts."""

import asyncio
import json

import pytest
from ocpp_lab import call_raw, eventually, raw_client, reply_to
from websockets.exceptions import ConnectionClosed

from adapters.base import ChargerStatus, ChargerUnavailable, SetpointRejected
from adapters.bridge import EventKind, HardwareBridge, LinkState
from adapters.ocpp.central_system import CentralSystem
from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError
from adapters.ocpp.session import SetpointCallError
from adapters.testing.ocpp.emulator import ChargePointEmulator, EmulatorConfig


def kinds(system, charger_id="CP1"):
    return [e["kind"] for e in system.events() if e["charger_id"] == charger_id]


@pytest.mark.parametrize(
    ("subprotocol", "bad_json_code", "bad_type_code"),
    [
        ("ocpp1.6", "FormationViolation", "ProtocolError"),
        ("ocpp2.0.1", "RpcFrameworkError", "MessageTypeNotSupported"),
        ("ocpp2.1", "RpcFrameworkError", "MessageTypeNotSupported"),
    ],
)
def test_malformed_frames_get_callerror_and_connection_stays_usable(
    run_lab, subprotocol, bad_json_code, bad_type_code
):
    async def scenario(lab):
        system = await lab.csms()
        websocket = await raw_client(system, "CP1", subprotocol)
        answer = await reply_to(websocket, "{this is not json", "-1")
        assert answer[:3] == [4, "-1", bad_json_code]

        answer = await reply_to(websocket, json.dumps([9, "t1", "Heartbeat", {}]), "t1")
        assert answer[:3] == [4, "t1", bad_type_code]

        # A payload violating the schema (Heartbeat takes no fields in any version... but
        # StatusNotification needs some) is refused with a CALLERROR echoing the id.
        answer = await call_raw(websocket, "StatusNotification", {"bogus": 1}, "s1")
        assert answer[0] == 4 and answer[1] == "s1"

        # After all that, the same connection still works.
        answer = await call_raw(websocket, "Heartbeat", {}, "hb")
        assert answer[0] == 3 and answer[1] == "hb" and "currentTime" in answer[2]
        assert system.session("CP1").online
        assert kinds(system).count("protocol_error") >= 3
        await websocket.close()

    run_lab(scenario)


@pytest.mark.parametrize(
    ("subprotocol", "action", "code"),
    [
        ("ocpp1.6", "NoSuchAction", "NotSupported"),
        ("ocpp1.6", "RemoteStartTransaction", "NotImplemented"),  # CSMS->CP only
        ("ocpp2.0.1", "NoSuchAction", "NotSupported"),
        ("ocpp2.1", "NoSuchAction", "NotSupported"),
        ("ocpp2.1", "NotifyDERAlarm", "NotImplemented"),  # ocpp 2.1.0 alone would not answer
    ],
)
def test_unknown_or_unhandled_action(run_lab, subprotocol, action, code):
    async def scenario(lab):
        system = await lab.csms()
        websocket = await raw_client(system, "CP1", subprotocol)
        answer = await call_raw(websocket, action, {}, "x1")
        assert answer[:3] == [4, "x1", code]
        await websocket.close()

    run_lab(scenario)


@pytest.mark.parametrize(
    ("subprotocol", "calls"),
    [
        (
            "ocpp1.6",
            [
                ("DataTransfer", {"vendorId": "acme"}),
                ("FirmwareStatusNotification", {"status": "Idle"}),
                ("DiagnosticsStatusNotification", {"status": "Idle"}),
                ("Authorize", {"idTag": "TAG1"}),
            ],
        ),
        (
            "ocpp2.1",
            [
                ("FirmwareStatusNotification", {"status": "Idle"}),
                ("DataTransfer", {"vendorId": "acme"}),
                (
                    "NotifyReport",
                    {"requestId": 1, "generatedAt": "2025-01-01T00:00:00Z", "seqNo": 0},
                ),
                (
                    "SecurityEventNotification",
                    {"type": "StartupOfTheDevice", "timestamp": "2025-01-01T00:00:00Z"},
                ),
                ("Authorize", {"idToken": {"idToken": "TAG1", "type": "Central"}}),
                (
                    "NotifyEVChargingNeeds",
                    {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "AC_BPT"}},
                ),
            ],
        ),
    ],
)
def test_other_charger_messages_are_answered(run_lab, subprotocol, calls):
    async def scenario(lab):
        system = await lab.csms()
        websocket = await raw_client(system, "CP1", subprotocol)
        for index, (action, payload) in enumerate(calls):
            answer = await call_raw(websocket, action, payload, f"m{index}")
            assert answer[0] == 3, (action, answer)
        await websocket.close()

    run_lab(scenario)


def test_oversized_frame_closes_only_that_connection(run_lab):
    async def scenario(lab):
        system = await lab.csms(
            {"CP1": ChargerAuth(), "CP2": ChargerAuth()},
            max_message_bytes=64 * 1024,
            allow_no_password=True,
        )
        emulator = await lab.emulator(system, "CP1", "1.6", password=None)
        websocket = await raw_client(system, "CP2", password=None)
        huge = json.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "a" * 100_000}])
        await websocket.send(huge)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(websocket.recv(), 3.0)
        assert closed.value.rcvd.code == 1009  # message too big
        await eventually(lambda: not system.session("CP2").online, what="CP2 offline")
        assert "disconnect" in kinds(system, "CP2")

        # The server and the other charger carry on.
        adapter = system.adapter("CP1")
        await adapter.set_power(2.5)
        assert emulator.target_kw == pytest.approx(2.5)
        again = await raw_client(system, "CP2", password=None)
        assert (await call_raw(again, "Heartbeat", {}, "hb"))[0] == 3
        await again.close()

    run_lab(scenario)


def test_disconnect_marks_offline_and_reconnect_resyncs(run_lab):
    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(system, "CP1", "2.0.1")
        adapter = system.adapter("CP1")
        await adapter.set_power(5.0)
        profiles_before = len(emulator.profiles.history)

        await emulator.drop_connection()  # abrupt: no close frame
        await eventually(lambda: not adapter.online, what="CSMS sees the loss")
        with pytest.raises(ChargerUnavailable):
            await adapter.read()
        with pytest.raises(ChargerUnavailable):
            await adapter.set_power(1.0)  # not delivered now, but remembered as the intent
        assert "disconnect" in kinds(system)

        await emulator.reconnect()  # no reboot: Heartbeat first
        await eventually(lambda: "resync" in kinds(system), what="resync event")
        assert len(emulator.profiles.history) == profiles_before + 1
        assert emulator.target_kw == pytest.approx(1.0)
        assert kinds(system).count("reconnect") == 1
        assert (await adapter.read()).status is not ChargerStatus.OFFLINE

    run_lab(scenario)


def test_bridge_over_ocpp_survives_a_disconnect(run_lab):
    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(system, "CP1", "1.6")
        bridge = HardwareBridge(
            [system.adapter("CP1", connect_timeout_s=0.5)],
            loop=asyncio.get_running_loop(),
            poll_interval_s=0.05,
            retry_interval_s=0.05,
            call_timeout_s=2.0,
        )
        await bridge.astart()
        try:
            bridge.submit_setpoints({"CP1": 5.0})

            def measured(value_kw):
                reading = bridge.latest_readings()["CP1"]
                return reading is not None and abs(reading.power_kw - value_kw) < 0.05

            await eventually(lambda: measured(5.0), what="5 kW through the bridge")
            await emulator.drop_connection()
            await eventually(lambda: bridge.status()["CP1"] == LinkState.OFFLINE)
            assert bridge.latest_readings()["CP1"] is None
            bridge.submit_setpoints({"CP1": 3.0})  # decided while the charger is away

            await emulator.reconnect()
            await eventually(lambda: measured(3.0), what="3 kW after reconnect")
            events = [e["kind"] for e in bridge.events()]
            assert events[:3] == [EventKind.CONNECT, EventKind.DISCONNECT, EventKind.RECONNECT]
            assert emulator.target_kw == pytest.approx(3.0)
        finally:
            await bridge.astop()
        # Closing the bridge cleared the twin's profile on the charger.
        assert len(emulator.profiles) == 0

    run_lab(scenario)


def test_rejected_profile_and_callerror(run_lab):
    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(system, "CP1", "2.1")
        adapter = system.adapter("CP1")

        emulator.reject_profiles = True
        with pytest.raises(SetpointRejected, match="Rejected") as refused:
            await adapter.set_power(4.0)
        assert not isinstance(refused.value, SetpointCallError)

        emulator.reject_profiles = False
        emulator.profile_call_error = "NotSupported"
        with pytest.raises(SetpointCallError) as errored:
            await adapter.set_power(4.0)
        assert errored.value.error_code == "NotSupported"

        assert [k for k in kinds(system) if k in ("rejected", "callerror")] == [
            "rejected",
            "callerror",
        ]
        assert adapter.online  # refusals are not disconnects
        emulator.profile_call_error = None
        await adapter.set_power(4.0)
        assert emulator.target_kw == pytest.approx(4.0)

    run_lab(scenario)


def test_rejections_reach_the_bridge_as_events_and_degrade_the_charger(run_lab):
    async def scenario(lab):
        system = await lab.csms(
            {"CP1": ChargerAuth(), "CP2": ChargerAuth()}, allow_no_password=True
        )
        rejecting = await lab.emulator(system, "CP1", "1.6", password=None)
        erroring = await lab.emulator(system, "CP2", "2.0.1", password=None)
        rejecting.reject_profiles = True
        erroring.profile_call_error = "InternalError"
        bridge = HardwareBridge(
            [system.adapter("CP1"), system.adapter("CP2")],
            loop=asyncio.get_running_loop(),
            poll_interval_s=0.05,
        )
        await bridge.astart()
        try:
            bridge.submit_setpoints({"CP1": 2.0, "CP2": 2.0})
            seen: list[dict] = []

            def got_both():
                seen.extend(bridge.events())
                pairs = {(e["charger_id"], e["kind"]) for e in seen}
                return {("CP1", "rejected"), ("CP2", "callerror")} <= pairs

            await eventually(got_both, what="rejected + callerror events")
            # Still connected (their meters count), but the twin must not count on them.
            assert bridge.status() == {"CP1": "degraded", "CP2": "degraded"}
        finally:
            await bridge.astop()

    run_lab(scenario)


def test_silent_charger_times_out(run_lab):
    async def scenario(lab):
        system = await lab.csms(response_timeout_s=0.5)
        websocket = await raw_client(system, "CP1", "ocpp1.6")
        assert (await call_raw(websocket, "Heartbeat", {}, "hb"))[0] == 3
        adapter = system.adapter("CP1")
        with pytest.raises(ChargerUnavailable, match="no answer") as failed:
            await adapter.set_power(3.0)
        assert isinstance(failed.value.__cause__, TimeoutError)
        assert "timeout" in kinds(system)
        await websocket.close()

    run_lab(scenario)


def test_new_connection_of_same_identity_replaces_the_old(run_lab):
    async def scenario(lab):
        system = await lab.csms()
        first = await raw_client(system, "CP1", "ocpp1.6")
        assert (await call_raw(first, "Heartbeat", {}, "a"))[0] == 3
        second = await raw_client(system, "CP1", "ocpp2.0.1")
        assert (await call_raw(second, "Heartbeat", {}, "b"))[0] == 3
        with pytest.raises(ConnectionClosed):
            while True:  # the CSMS's own calls (metering set-up) may come before the close
                message = json.loads(await asyncio.wait_for(first.recv(), 3.0))
                assert message[0] == 2, message
        assert system.session("CP1").version == "2.0.1"
        assert system.session("CP1").online
        await second.close()

    run_lab(scenario)


def test_bridge_owns_the_csms_loop_while_the_caller_runs_elsewhere():
    """HIL layout: CSMS + bridge on the bridge's thread, the co-simulation in the main thread."""
    system = CentralSystem(
        CsmsConfig(
            port=0, chargers={"CP1": ChargerAuth()}, meter_interval_s=1, allow_no_password=True
        )
    )
    bridge = HardwareBridge(
        [system.adapter("CP1", connect_timeout_s=1.0)],
        services=[system],
        poll_interval_s=0.05,
        retry_interval_s=0.05,
    )
    bridge.start()
    try:

        async def charger_side():
            emulator = ChargePointEmulator(
                EmulatorConfig(
                    url=system.url,
                    charger_id="CP1",
                    version="2.1",
                    time_constant_s=0.1,
                )
            )
            await emulator.start()
            try:
                bridge.submit_setpoints({"CP1": 6.0})  # as a mosaik step would: no await

                def measured():
                    reading = bridge.latest_readings()["CP1"]
                    return reading is not None and abs(reading.power_kw - 6.0) < 0.05

                await eventually(measured, what="6 kW measured across threads")
            finally:
                await emulator.close()

        asyncio.run(asyncio.wait_for(charger_side(), 15.0))
    finally:
        bridge.stop()
    assert bridge.status() == {"CP1": LinkState.STOPPED}
    with pytest.raises(OcppConfigError):  # the bridge stopped the CSMS too
        _ = system.port
