"""Regression tests of the CSMS hardening (issue 15): one per defect, over real websockets."""

import asyncio
import json
import time

import psutil
import pytest
from ocpp_lab import PASSWORD, call_raw, eventually, raw_client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from adapters.ocpp.central_system import format_event, serve_forever
from adapters.ocpp.cli import csms_chargers, parse_passwords
from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError
from adapters.ocpp.guard import EventLog, TokenBucket, safe_text

FAST = {"rate_messages_per_s": 1e6, "rate_burst_messages": 10**6, "rate_bytes_per_s": 1e12}
"""Rate limits out of the way (for tests of something else)."""


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def test_unsolicited_callresults_are_dropped_not_queued(run_lab):
    # Before: each unsolicited CALLRESULT went on an unbounded queue only call() reads
    # (2,500 x 250 KB: +600 MB). Now: dropped and counted; memory stays flat.
    frames, size = 1500, 60_000  # 90 MB of results nobody asked for

    async def scenario(lab):
        system = await lab.csms(**FAST)
        websocket = await raw_client(system, "CP1", "ocpp1.6")
        assert (await call_raw(websocket, "Heartbeat", {}, "warm"))[0] == 3
        cp = system.session("CP1").cp
        before = rss_mb()
        blob = "x" * size
        for index in range(frames):
            await websocket.send(json.dumps([3, f"never-asked-{index}", {"data": blob}]))
        await eventually(lambda: cp.unmatched_results == frames, 60, "all results consumed")
        grown = rss_mb() - before
        assert grown < 40, f"RSS grew {grown:.0f} MB for {frames * size / 2**20:.0f} MB sent"
        # At most the CSMS's own metering call (unanswered by this raw client) is in flight.
        assert len(cp._waiters) <= 1 and cp._response_queue is None
        # The connection still works, and calls of the CSMS still get their answers.
        assert (await call_raw(websocket, "Heartbeat", {}, "after"))[0] == 3
        counts = system.event_counts()
        assert counts["unmatched_result"] == frames
        assert len(system.events()) <= system.config.event_history
        await websocket.close()
        await eventually(lambda: system.session("CP1").cp is None, what="released on close")

    run_lab(scenario, timeout_s=120)


def test_only_the_first_result_of_a_call_in_flight_is_kept(run_lab):
    async def scenario(lab):
        system = await lab.csms(**FAST)
        websocket = await raw_client(system, "CP1", "ocpp1.6")
        boot = {"chargePointVendor": "V", "chargePointModel": "M"}
        assert (await call_raw(websocket, "BootNotification", boot, "boot"))[0] == 3
        cp = system.session("CP1").cp
        # Answer the CSMS's meter configuration calls twice each: the second is dropped.
        answered = 0
        while answered < 2:
            message = json.loads(await asyncio.wait_for(websocket.recv(), 5))
            if message[0] == 2:
                for _ in range(2):
                    await websocket.send(json.dumps([3, message[1], {"status": "Accepted"}]))
                answered += 1
        await eventually(lambda: cp.unmatched_results >= 1, what="duplicate dropped")
        assert len(cp._waiters) <= 1  # at most the call now in flight
        await websocket.close()

    run_lab(scenario)


def test_malformed_answers_are_not_answered(run_lab):
    # OCPP-J never answers a CALLRESULT/CALLERROR, even a broken one (no error ping-pong).
    async def scenario(lab):
        system = await lab.csms(**FAST)
        websocket = await raw_client(system, "CP1", "ocpp2.0.1")
        await websocket.send(json.dumps([4, "x"]))
        await websocket.send(json.dumps([3]))
        answer = await call_raw(websocket, "Heartbeat", {}, "hb")
        assert answer[:2] == [3, "hb"]  # the next frame received is the heartbeat's answer
        assert system.session("CP1").cp.unmatched_results == 2
        await websocket.close()

    run_lab(scenario)


def test_deeply_nested_json_is_answered_not_a_traceback(run_lab, caplog):
    async def scenario(lab):
        system = await lab.csms(**FAST)
        websocket = await raw_client(system, "CP1", "ocpp1.6")
        deep = "[" * 20_000 + "]" * 20_000
        await websocket.send(deep)
        message = json.loads(await asyncio.wait_for(websocket.recv(), 5))
        assert message[:3] == [4, "-1", "FormationViolation"]
        nested: dict = {}
        for _ in range(5000):
            nested = {"a": nested}
        payload = {"vendorId": "v", "data": "x", "messageId": "m"}
        frame = json.dumps([2, "dt", "DataTransfer", payload])[:-2] + ', "x": ' + "[" * 9000
        frame += "]" * 9000 + "}]"
        answer = json.loads(await _send_recv(websocket, frame))
        assert answer[0] == 4
        assert (await call_raw(websocket, "Heartbeat", {}, "hb"))[0] == 3
        await websocket.close()

    run_lab(scenario)
    assert "Traceback" not in caplog.text


async def _send_recv(websocket, frame: str) -> str:
    await websocket.send(frame)
    return await asyncio.wait_for(websocket.recv(), 5)


def test_twin_csms_prints_one_line_per_event_not_the_charger_list():
    # Before: the whole list on every boot/disconnect (O(N^2): 608,640 lines for 1,000).
    n = 150
    lines: list[str] = []

    async def scenario() -> None:
        config = CsmsConfig(
            port=0,
            chargers={f"CP{i:03d}": ChargerAuth(password=PASSWORD) for i in range(n)},
            meter_interval_s=60,
            **FAST,
        )
        stop = asyncio.Event()
        server = asyncio.ensure_future(serve_forever(config, lines.append, stop))
        await eventually(lambda: any("listening" in line for line in lines))
        url = lines[0].split("listening ", 1)[1]

        async def boot(i: int) -> None:
            import base64

            token = base64.b64encode(f"CP{i:03d}:{PASSWORD}".encode()).decode()
            async with connect(
                f"{url}/CP{i:03d}",
                subprotocols=["ocpp1.6"],
                additional_headers={"Authorization": f"Basic {token}"},
                proxy=None,
            ) as ws:
                frame = [
                    2,
                    "b",
                    "BootNotification",
                    {"chargePointVendor": "V", "chargePointModel": "M"},
                ]
                await ws.send(json.dumps(frame))
                while json.loads(await asyncio.wait_for(ws.recv(), 20))[0] != 3:
                    pass

        await asyncio.gather(*(boot(i) for i in range(n)))
        await eventually(lambda: sum(" disconnect" in line for line in lines) == n, 20)
        stop.set()
        await asyncio.wait_for(server, 20)

    asyncio.run(asyncio.wait_for(scenario(), 90))
    assert sum(": boot V M" in line for line in lines) == n
    assert len(lines) < 4 * n, len(lines)  # connect, boot, disconnect (+ a few)
    assert lines[-1].startswith(f"status: 0 of {n} chargers connected")


def test_identity_in_the_url_is_printed_escaped(run_lab):
    async def scenario(lab):
        printed: list[str] = []
        system = await lab.csms()
        system._on_event = lambda event: printed.append(format_event(event))
        evil = "CP1%0A%1B%5B31mFAKE%20boot%20OK"
        with pytest.raises(InvalidStatus):
            await raw_client(system, evil, password="x")
        await eventually(lambda: any("refused" in line for line in printed))
        line = next(line for line in printed if "refused" in line)
        assert "\n" not in line and "\x1b" not in line
        assert "\\n\\x1b[31mFAKE" in line

    run_lab(scenario)


def test_safe_text_escapes_every_control_character():
    assert safe_text("a\nb\rc\x1b[2J\x9b\u202edone") == "a\\nb\\rc\\x1b[2J\\x9b\\u202edone"
    assert safe_text("x" * 300, 10) == "x" * 10 + "..."


def test_identities_without_password_need_an_explicit_opt_out():
    with pytest.raises(OcppConfigError, match="no password - anyone"):
        CsmsConfig(chargers={"CP1": ChargerAuth()}).validate()
    CsmsConfig(chargers={"CP1": ChargerAuth()}, allow_no_password=True).validate()


def test_opted_out_identity_is_announced_loudly(run_lab):
    async def scenario(lab):
        system = await lab.csms({"CP1": ChargerAuth()}, allow_no_password=True)
        warnings = [e["detail"] for e in system.events() if e["kind"] == "warning"]
        assert any(w.startswith("INSECURE: 1 charger(s) without a password") for w in warnings)

    run_lab(scenario)


def test_failed_logins_lock_the_ip_out_for_a_while(run_lab):
    async def scenario(lab):
        system = await lab.csms(login_failures_allowed=3, login_lockout_s=1.0)
        for _ in range(3):
            with pytest.raises(InvalidStatus) as refused:
                await raw_client(system, "CP1", password="guess-123")
            assert refused.value.response.status_code == 401
        # Locked out: even the right password is refused for now, with a Retry-After.
        with pytest.raises(InvalidStatus) as locked:
            await raw_client(system, "CP1")
        assert locked.value.response.status_code == 429
        assert int(locked.value.response.headers["Retry-After"]) >= 1

        async def gets_in() -> bool:
            try:
                websocket = await raw_client(system, "CP1")
            except InvalidStatus:
                return False
            await websocket.close()
            return True

        await eventually(gets_in, 10, "in again after the lock-out")

    run_lab(scenario)


def test_idle_pre_auth_connections_cannot_lock_a_charger_out(run_lab):
    # Before: 1,100 idle sockets at the file limit kept a charger out for ~6 s.
    async def scenario(lab):
        system = await lab.csms(max_pending=20, max_pending_per_ip=10, **FAST)
        idle = [await asyncio.open_connection("127.0.0.1", system.port) for _ in range(60)]
        await eventually(
            lambda: system.connection_counts()["pending"] <= 10, what="pre-auth capped"
        )
        started = time.monotonic()
        websocket = await raw_client(system, "CP1")
        assert (await call_raw(websocket, "Heartbeat", {}, "hb"))[0] == 3
        assert time.monotonic() - started < 5
        assert system.connection_counts()["evicted_pre_auth"] >= 50
        for _reader, writer in idle:
            writer.close()
        await websocket.close()

    run_lab(scenario)


def test_total_connection_cap_drops_idle_sockets_first_then_refuses(run_lab):
    async def scenario(lab):
        chargers = {f"CP{i}": ChargerAuth(password=PASSWORD) for i in (1, 2, 3)}
        system = await lab.csms(chargers, max_connections=3, **FAST)
        held = [await asyncio.open_connection("127.0.0.1", system.port) for _ in range(3)]
        await eventually(lambda: system.connection_counts()["open"] == 3)
        # Full of idle sockets: a charger still gets in (the oldest idle one makes room).
        good = [await raw_client(system, f"CP{i}") for i in (1, 2, 3)]
        assert system.connection_counts()["evicted_pre_auth"] >= 3
        # Full of authenticated chargers: a new connection is refused at once.
        reader, writer = await asyncio.open_connection("127.0.0.1", system.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        assert system.connection_counts()["refused_capacity"] >= 1
        for _reader, w in held + [(reader, writer)]:
            w.close()
        for websocket in good:
            await websocket.close()
        await eventually(lambda: system.connection_counts()["open"] == 0)

    run_lab(scenario)


def test_a_flooding_charger_does_not_delay_the_others(run_lab):
    # Before: one charger's flood took the others' heartbeat p50 from 1.8 ms to 412 ms.
    async def scenario(lab):
        system = await lab.csms(
            {"CP1": ChargerAuth(password=PASSWORD), "BAD": ChargerAuth(password=PASSWORD)},
            rate_messages_per_s=50,
            rate_burst_messages=50,
        )
        good = await raw_client(system, "CP1")
        bad = await raw_client(system, "BAD")
        frame = json.dumps([2, "f", "DataTransfer", {"vendorId": "v", "data": "x" * 30_000}])

        async def flood() -> None:
            with pytest.raises((ConnectionClosed, asyncio.CancelledError)):
                while True:
                    await bad.send(frame)

        flooder = asyncio.ensure_future(flood())
        await eventually(lambda: system.session("BAD").cp.throttled > 0, what="flood throttled")
        latencies = []
        for index in range(30):
            started = time.perf_counter()
            assert (await call_raw(good, "Heartbeat", {}, f"hb{index}"))[0] == 3
            latencies.append(time.perf_counter() - started)
        flooder.cancel()
        latencies.sort()
        assert latencies[len(latencies) // 2] < 0.2, latencies
        await good.close()
        await bad.close()

    run_lab(scenario, timeout_s=60)


def test_token_bucket_paces_to_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=5, clock=lambda: now[0])
    assert [bucket.take(1) for _ in range(5)] == [0.0] * 5
    assert bucket.take(1) == pytest.approx(0.1)
    now[0] = 10.0
    assert bucket.take(1) == 0.0


def test_event_log_is_bounded_and_counts_everything():
    now = [0.0]
    log = EventLog(history=10, noisy=frozenset({"refused"}), budget=3, clock=lambda: now[0])
    shown = [
        e
        for i in range(100)
        for e in log.add({"charger_id": "", "kind": "refused", "detail": str(i)})
    ]
    assert len(log.recent) == 10 and log.counts["refused"] == 100
    assert len(shown) == 3
    now[0] = 11.0
    shown = log.add({"charger_id": "", "kind": "refused", "detail": "x"})
    assert shown[0]["kind"] == "suppressed" and "97 more 'refused'" in shown[0]["detail"]


def test_passwords_come_from_a_file_or_the_environment(tmp_path):
    file = tmp_path / "passwords.txt"
    file.write_text("# lab chargers\nCP1:secret-one\n\nCP2:se:cret\n")
    chargers, warnings = csms_chargers(["CP3"], file, {"TWIN_CSMS_PASSWORDS": "CP3:from-env"})
    assert chargers == {
        "CP1": ChargerAuth(password="secret-one"),
        "CP2": ChargerAuth(password="se:cret"),
        "CP3": ChargerAuth(password="from-env"),
    }
    assert warnings == []
    # The old form still works, with a warning that `ps` shows it.
    chargers, warnings = csms_chargers(["CP9:pw-on-cli"], None, {})
    assert chargers["CP9"].password == "pw-on-cli"
    assert "visible to every user in `ps`" in warnings[0]
    with pytest.raises(OcppConfigError, match="passwords.txt: line 1: expected ID:PASSWORD"):
        file.write_text("CP1\n")
        csms_chargers([], file, {})
    assert parse_passwords("A:b\r\n", "x") == {"A": "b"}


def test_a_boot_loop_does_not_pile_up_requests(run_lab):
    # Each BootNotification starts the metering set-up; a charger booting in a loop (and never
    # answering) started one more task per boot, all queued on the call lock.
    async def scenario(lab):
        system = await lab.csms(**FAST)
        websocket = await raw_client(system, "CP1", "ocpp1.6")
        boot = {"chargePointVendor": "V", "chargePointModel": "M"}
        for index in range(50):
            assert (await call_raw(websocket, "BootNotification", boot, f"b{index}"))[0] == 3
        assert len(system.session("CP1")._tasks) <= 2
        await websocket.close()

    run_lab(scenario)
