"""The publisher over real pyzmq PUB/SUB sockets on 127.0.0.1 (free ports; every socket closed)."""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest
import zmq
from telemetry_support import (
    FLEETS,
    STEP_S,
    connect_pair,
    detail,
    fake_prepared,
    is_end,
    make_row,
    receive_until,
)

from twin.catalog import load_scenario
from twin.config import DEFAULT_SCENARIO
from twin.telemetry import TelemetryError, TelemetryPublisher, TelemetrySubscriber


@pytest.fixture
def pair(tmp_path):
    pub = TelemetryPublisher("tcp://127.0.0.1:*", fake_prepared(tmp_path), min_interval_s=0.0)
    sub = TelemetrySubscriber(pub.address)
    yield pub, sub
    sub.close()
    pub.close()


def test_snapshot_matches_the_row(pair):
    pub, sub = pair
    connect_pair(pub, sub)
    # 10:00 local (Asia/Tokyo start at midnight): inside the push-up window 10:00-14:00.
    row = make_row(10 * 3600, (100.0, 20.0, 30.0), (40.0, 20.0, 10.0))
    pub(row, detail())
    snap = receive_until(sub, lambda s: s.header["time_s"] == 36000)
    assert snap.kind == "step"
    h = snap.header
    assert h["schema"] == "twin.telemetry" and h["version"] == 1
    assert h["time_s"] == 36000
    assert h["time_local"] == "2025-06-04T10:00:00+09:00"
    assert h["time"] == "2025-06-04T01:00:00+00:00"
    assert h["total"]["p_kw"] == pytest.approx(150.0)
    assert h["total"]["baseline_p_kw"] == pytest.approx(70.0)
    assert h["total"]["plugged_count"] == 6
    assert h["fleets"]["commuters"]["p_kw"] == 100.0
    assert h["ems"]["contributions_kw"] == {"smart_charging": 1.5, "flexibility_windows": -0.5}
    assert h["signals"]["price_per_kwh"] == 0.32
    assert h["grid"]["trafo_loading_max_pct"] == 55.0
    assert h["frequency"] is None and h["hil"] is None
    # SOC 0.05, 0.55, 1.0 -> bins 0, 5, 9 (1.0 belongs to the last bin); plugged: first and last.
    expected = [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert h["fleets"]["business"]["soc_hist"] == expected
    assert h["fleets"]["business"]["soc_hist_plugged"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    np.testing.assert_array_equal(snap.arrays["vm_pu"], [1.0, 0.99, 0.98])
    np.testing.assert_array_equal(snap.arrays["line_loading_pct"], [12.0, 34.0])
    assert snap.meta["ids"] == {"bus": ["0", "2", "4"], "line": ["10", "11"], "trafo": ["7"]}
    assert snap.meta["windows"] == {"push_up": [36000, 50400], "push_down": [57600, 72000]}
    assert snap.meta["ev_count"] == 300
    # push-up so far: (150 - 70) kW * 0.25 h / 300 EVs (the probes had zero power)
    assert h["kpis_so_far"]["push_up_kwh_per_ev"] == pytest.approx(80 * 0.25 / 300)
    assert h["kpis_so_far"]["push_down_kwh_per_ev"] == 0.0
    # history holds the probes and this step; its last row is this step
    assert snap.history["time_s"][-1] == 36000
    assert snap.history["p_kw"][-1] == pytest.approx(150.0)
    assert snap.history["trafo_loading_pct.7"][-1] == 55.0

    # 17:00 local: push-down window; baseline 90 kW above the fleet's 60 kW
    pub(make_row(17 * 3600, (10.0, 20.0, 30.0), (50.0, 50.0, 50.0)), detail(0.5))
    snap = receive_until(sub, lambda s: s.header["time_s"] == 61200)
    assert snap.header["kpis_so_far"]["push_down_kwh_per_ev"] == pytest.approx(90 * 0.25 / 300)
    assert snap.header["kpis_so_far"]["push_up_kwh_per_ev"] == pytest.approx(80 * 0.25 / 300)
    np.testing.assert_array_equal(snap.arrays["vm_pu"], [0.5, 0.495, 0.49])


def test_frequency_and_hil_fields_are_carried(tmp_path):
    pub = TelemetryPublisher("tcp://127.0.0.1:*", fake_prepared(tmp_path), min_interval_s=0.0)
    sub = TelemetrySubscriber(pub.address)
    try:
        extra = {
            "signal.frequency_hz": 49.75,
            "hil.CP001.power_kw": 7.2,
            "hil.CP001.online": 1.0,
            "hil.127.0.0.1:5020.power_kw": float("nan"),
            "hil.127.0.0.1:5020.online": 0.0,
        }
        row = make_row(0, (10.0, 0.0, 0.0), (25.0, 0.0, 0.0), **extra)
        deadline = time.monotonic() + 5
        snap = None
        while snap is None and time.monotonic() < deadline:
            pub(row, detail())
            snap = sub.receive(timeout_s=0.05)
        assert snap is not None
        assert snap.header["frequency"] == {"frequency_hz": 49.75, "response_kw": -15.0}
        chargers = snap.header["hil"]["chargers"]
        assert chargers["CP001"] == {"power_kw": 7.2, "online": 1.0}
        assert chargers["127.0.0.1:5020"] == {"power_kw": None, "online": 0.0}  # NaN -> null
        assert snap.history["frequency_hz"][-1] == 49.75
    finally:
        sub.close()
        pub.close()


def test_absent_subscriber_never_blocks(tmp_path):
    """No subscriber: each publish is one encode + a discard, so 300 big steps finish quickly."""
    big = {
        "vm_pu": np.ones(50_000),
        "line_loading_pct": np.ones(50_000),
        "trafo_loading_pct": np.ones(1),
    }
    pub = TelemetryPublisher("tcp://127.0.0.1:*", fake_prepared(tmp_path), min_interval_s=0.0)
    try:
        t0 = time.perf_counter()
        for k in range(300):
            pub(make_row(k * STEP_S, (1.0, 2.0, 3.0), (1.0, 1.0, 1.0)), big)
        elapsed = time.perf_counter() - t0
    finally:
        pub.close()
    assert pub.stats.calls == 300 and pub.stats.errors == 0
    assert elapsed < 10.0  # ~0.8 MB per message; blocking would hang, not take 10 s


def test_stalled_subscriber_never_blocks_and_messages_are_dropped(tmp_path):
    """A subscriber that connects and never reads: publishing still finishes, ZeroMQ drops."""
    pub = TelemetryPublisher("tcp://127.0.0.1:*", fake_prepared(tmp_path), min_interval_s=0.0)
    ctx = zmq.Context()
    stalled = ctx.socket(zmq.SUB)
    stalled.setsockopt(zmq.RCVHWM, 1)
    stalled.setsockopt(zmq.SUBSCRIBE, b"")
    stalled.setsockopt(zmq.LINGER, 0)
    stalled.connect(pub.address)
    big = {"vm_pu": np.ones(50_000), "line_loading_pct": np.ones(50_000)}  # ~0.8 MB per message
    n = 400
    done = threading.Event()

    def publish() -> None:
        for k in range(n):
            pub(make_row(k * STEP_S, (1.0, 2.0, 3.0), (1.0, 1.0, 1.0)), big)
        done.set()

    try:
        # let the connection come up, so messages really queue towards the stalled peer
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not stalled.poll(20):
            pub(make_row(0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)), {})
        worker = threading.Thread(target=publish, daemon=True)
        worker.start()
        worker.join(timeout=30.0)
        assert done.is_set(), "publishing blocked on a subscriber that does not read"
        received = 0
        while stalled.poll(200):
            stalled.recv()
            received += 1
        # n messages of 0.8 MB (320 MB) cannot all sit in HWM 2 + 1 and the socket buffers
        assert received < n // 2
    finally:
        stalled.close(0)
        ctx.term()
        pub.close()
    assert pub.stats.errors == 0


def test_subscriber_follows_a_restarted_run(tmp_path):
    first = TelemetryPublisher("tcp://127.0.0.1:*", fake_prepared(tmp_path), min_interval_s=0.0)
    address = first.address
    sub = TelemetrySubscriber(address)
    second = None
    try:
        connect_pair(first, sub)
        assert sub.latest is not None and sub.latest.run_id == first.run_id
        first.close()
        end = receive_until(sub, is_end)
        assert end.run_id == first.run_id
        second = TelemetryPublisher(address, fake_prepared(tmp_path), min_interval_s=0.0)
        assert second.run_id != first.run_id
        connect_pair(second, sub, timeout_s=10.0)
        assert sub.latest.run_id == second.run_id
    finally:
        sub.close()
        first.close()
        if second is not None:
            second.close()


def test_port_in_use_is_a_clear_error(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(TelemetryError, match=f"tcp://127.0.0.1:{port}: cannot bind"):
            TelemetryPublisher(f"tcp://127.0.0.1:{port}", fake_prepared(tmp_path))
    finally:
        holder.close()


def test_end_message_carries_final_status_and_kpis(tmp_path):
    summary = {
        "status": "completed",
        "wall_time_s": 1.5,
        "kpis": {
            "push_up_kwh_per_ev_day": 3.25,
            "nonconverged_steps": 0,
            "per_fleet": {"a": {}},
        },
    }
    # A different summary.json on disk: the end message says what the run handed over, the
    # publisher reads nothing back from the results folder.
    (tmp_path / "summary.json").write_text(json.dumps({"status": "running", "kpis": {}}))
    pub = TelemetryPublisher("tcp://127.0.0.1:*", fake_prepared(tmp_path), min_interval_s=0.0)
    sub = TelemetrySubscriber(pub.address)
    try:
        connect_pair(pub, sub)
        pub(make_row(900, (5.0, 0.0, 0.0), (0.0, 0.0, 0.0)), detail())
        pub.close(summary)
        snap = receive_until(sub, is_end)
        assert snap.header["time_s"] == 900  # repeats the last step
        assert snap.header["total"]["p_kw"] == 5.0
        assert snap.header["final"] == {
            "status": "completed",
            "wall_time_s": 1.5,
            "kpis": {"push_up_kwh_per_ev_day": 3.25, "nonconverged_steps": 0},
        }
    finally:
        sub.close()
        pub.close()


def test_throttled_steps_still_count_and_the_last_one_is_sent_at_close(tmp_path):
    pub = TelemetryPublisher("tcp://127.0.0.1:*", fake_prepared(tmp_path), min_interval_s=3600.0)
    sub = TelemetrySubscriber(pub.address)
    try:
        # the first step is always due; the next 7 fall inside the interval and are not sent
        for k in range(8):
            pub(make_row(10 * 3600 + k * STEP_S, (10.0, 0.0, 0.0), (0.0, 0.0, 0.0)), detail())
        assert pub.stats.sent == 1
        time.sleep(0.3)  # let the connection come up before the end message
        pub.close()
        snap = receive_until(sub, is_end)
        assert snap.header["time_s"] == 10 * 3600 + 7 * STEP_S
        # all 8 steps in the push-up window: 8 * 10 kW * 0.25 h / 300 EVs
        assert snap.header["kpis_so_far"]["push_up_kwh_per_ev"] == pytest.approx(20.0 / 300)
        assert list(snap.history["time_s"]) == [36000 + k * STEP_S for k in range(8)]
    finally:
        sub.close()
        pub.close()


def test_history_is_decimated_evenly(tmp_path):
    pub = TelemetryPublisher(
        "tcp://127.0.0.1:*", fake_prepared(tmp_path), history_points=10, min_interval_s=0.0
    )
    sub = TelemetrySubscriber(pub.address)
    try:
        probes = connect_pair(pub, sub)  # probes are steps 0..probes-1
        assert probes < 25
        for k in range(25 - probes):
            pub(make_row((probes + k) * STEP_S, (1.0, 0.0, 0.0), (0.0, 0.0, 0.0)), detail())
        pub.close()  # a burst may drop steps; the end message repeats the last one
        snap = receive_until(sub, is_end)
        assert snap.header["time_s"] == 24 * STEP_S
        # capacity 10: steps 0-9, halve at 10 (stride 2), halve at 20 (stride 4) -> 0, 4, ..., 24
        assert list(snap.history["time_s"] / STEP_S) == [0, 4, 8, 12, 16, 20, 24]
        assert snap.header["history"]["stride_steps"] == 4
    finally:
        sub.close()
        pub.close()


def test_observer_errors_are_counted_not_raised(tmp_path):
    prepared = fake_prepared(tmp_path)
    pub = TelemetryPublisher("tcp://127.0.0.1:*", prepared, min_interval_s=0.0)
    try:
        del prepared.fleets["business"]  # the SOC histogram cannot be built any more
        pub(make_row(0, (1.0, 2.0, 3.0), (0.0, 0.0, 0.0)), detail())
        assert pub.stats.errors == 1 and pub.stats.sent == 0
    finally:
        pub.close()


def test_a_real_run_publishes_what_it_records(tmp_path):
    """Short default run (2 h of 15 min steps): the end snapshot equals the recorded last row."""
    from twin.results.readers import read_summary, read_table
    from twin.run.world import prepare_run

    scenario = load_scenario(DEFAULT_SCENARIO, {"duration": "2h"})
    prepared = prepare_run(scenario, tmp_path / "run")
    pub = TelemetryPublisher("tcp://127.0.0.1:*", prepared, min_interval_s=0.0)
    sub = TelemetrySubscriber(pub.address)
    try:
        # Subscription up before the first step: probe steps until one arrives (a fixed 0.3 s
        # was not always enough on a busy machine); the run's own steps follow them.
        connect_pair(pub, sub, timeout_s=60.0)
        prepared.observers.append(pub)
        prepared.run(progress=False)
        pub.close(prepared.summary)
        last = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (last is None or last.kind != "end"):
            last = sub.receive(timeout_s=0.2) or last
    finally:
        sub.close()
        pub.close()
    assert last is not None and last.kind == "end"
    table = read_table(tmp_path / "run", "timeseries")
    final = table.iloc[-1]
    assert last.header["time_s"] == int(final["time_s"]) == 7 * 900
    expected_kw = sum(float(final[f"{n}.p_kw"]) for n in FLEETS)
    assert last.header["total"]["p_kw"] == pytest.approx(expected_kw)
    vm = read_table(tmp_path / "run", "grid_vm_pu").iloc[-1].drop("time").to_numpy(dtype=float)
    np.testing.assert_allclose(last.arrays["vm_pu"], vm)
    summary = read_summary(tmp_path / "run")
    assert last.header["final"]["kpis"]["peak_fleet_kw"] == pytest.approx(
        summary["kpis"]["peak_fleet_kw"]
    )
    assert last.header["kpis_so_far"]["peak_fleet_kw"] == pytest.approx(
        summary["kpis"]["peak_fleet_kw"]
    )
    assert pub.stats.errors == 0


def test_hil_status_handed_by_the_run_is_merged_with_the_row(tmp_path):
    """The run's status callable (not a probe of the link) adds link state to the row's values."""
    calls = []

    def hil_status():
        calls.append(1)
        return {
            "chargers": {
                "CP001": {"status": "online", "last_message_age_s": 0.4, "soc": float("nan")},
                "CP002": {"status": "connecting", "last_message_age_s": None},
            },
            "step_lateness_s": 0.125,
        }

    pub = TelemetryPublisher(
        "tcp://127.0.0.1:*", fake_prepared(tmp_path), hil_status=hil_status, min_interval_s=0.0
    )
    sub = TelemetrySubscriber(pub.address)
    try:
        row = make_row(0, (1.0, 0.0, 0.0), (0.0, 0.0, 0.0), **{"hil.CP001.power_kw": 3.5})
        snap = None
        deadline = time.monotonic() + 5
        while snap is None and time.monotonic() < deadline:
            pub(row, detail())
            snap = sub.receive(timeout_s=0.05)
        assert snap is not None
        hil = snap.header["hil"]
        assert hil["chargers"]["CP001"] == {
            "power_kw": 3.5,
            "status": "online",
            "last_message_age_s": 0.4,
            "soc": None,  # NaN -> null
        }
        assert hil["chargers"]["CP002"] == {"status": "connecting", "last_message_age_s": None}
        assert hil["step_lateness_s"] == 0.125
        # asked once per message handed to ZeroMQ, not per step
        assert len(calls) == pub.stats.sent + pub.stats.dropped
    finally:
        sub.close()
        pub.close()


def test_a_failing_hil_status_still_publishes_the_recorded_values(tmp_path):
    def broken():
        raise ConnectionError("bridge gone")

    pub = TelemetryPublisher(
        "tcp://127.0.0.1:*", fake_prepared(tmp_path), hil_status=broken, min_interval_s=0.0
    )
    sub = TelemetrySubscriber(pub.address)
    try:
        row = make_row(0, (1.0, 0.0, 0.0), (0.0, 0.0, 0.0), **{"hil.CP001.online": 1.0})
        snap = None
        deadline = time.monotonic() + 5
        while snap is None and time.monotonic() < deadline:
            pub(row, detail())
            snap = sub.receive(timeout_s=0.05)
        assert snap is not None
        assert snap.header["hil"] == {
            "chargers": {"CP001": {"online": 1.0}},
            "step_lateness_s": None,
        }
        assert pub.stats.errors == 0
    finally:
        sub.close()
        pub.close()


def test_close_without_a_summary_says_unknown(tmp_path):
    pub = TelemetryPublisher("tcp://127.0.0.1:*", fake_prepared(tmp_path), min_interval_s=0.0)
    sub = TelemetrySubscriber(pub.address)
    try:
        connect_pair(pub, sub)
        pub.close()
        snap = receive_until(sub, is_end)
        assert snap.header["final"] == {"status": "unknown"}
    finally:
        sub.close()
        pub.close()


def test_the_package_exports_the_public_names():
    import twin.telemetry as telemetry

    for name in (
        "TelemetryPublisher",
        "TelemetrySubscriber",
        "Snapshot",
        "decode_snapshot",
        "DEFAULT_ADDRESS",
        "normalise_address",
        "TelemetryError",
        "TelemetryFormatError",
        "TelemetryStats",
    ):
        assert name in telemetry.__all__ and hasattr(telemetry, name), name
    assert telemetry.DEFAULT_ADDRESS == "tcp://127.0.0.1:5556"
    assert issubclass(telemetry.TelemetryFormatError, telemetry.TelemetryError)
