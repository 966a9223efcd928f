"""The VEN's reading of openleadr event dicts (as openleadr's parser hands them over) and of
credentials; the network round trip is tests/signals/test_openadr_ven.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from adapters.openadr.ven import MalformedEvent, OpenAdrVen, event_schedules, load_credentials
from twin.signals.live import LiveSignalBuffer, LiveSignalReader

T0 = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def _event(name: str, kind: str, payloads, step_s: float, dtstart: bool = True, eid="e1"):
    intervals = [
        {
            **({"dtstart": T0 + dt.timedelta(seconds=i * step_s)} if dtstart else {}),
            "duration": dt.timedelta(seconds=step_s),
            "signal_payload": p,
            "uid": i,
        }
        for i, p in enumerate(payloads)
    ]
    return {
        "event_descriptor": {"event_id": eid, "event_status": "far", "modification_number": 0},
        "active_period": {"dtstart": T0, "duration": dt.timedelta(seconds=step_s * len(payloads))},
        "event_signals": [{"signal_name": name, "signal_type": kind, "intervals": intervals}],
        "response_required": "always",
    }


def test_fems_slots_follow_each_other_from_the_active_period_without_their_own_start() -> None:
    out = event_schedules(_event("LOAD_DISPATCH", "setpoint", [3.0, -2.5], 1800, dtstart=False))
    t = T0.timestamp()
    assert out == {"fems_kwh": [(t, t + 1800, 3.0), (t + 1800, t + 3600, -2.5)]}


def test_reserve_delta_is_a_reduction() -> None:
    out = event_schedules(_event("LOAD_DISPATCH", "delta", [-4.0], 60))
    assert out["reserve_reduction_kw"][0][2] == 4.0


@pytest.mark.parametrize(
    "event",
    [
        _event("SIMPLE", "level", [1.0], 60),
        _event("LOAD_CONTROL", "x-loadControlLevelOffset", ["high"], 5),
        _event("LOAD_CONTROL", "x-loadControlLevelOffset", [float("nan")], 5),
        {"event_descriptor": {"event_id": "x"}},
    ],
)
def test_malformed_events_are_opted_out_and_counted(event) -> None:
    with pytest.raises(MalformedEvent):
        event_schedules(event)
    buffer = LiveSignalBuffer()
    ven = OpenAdrVen("http://127.0.0.1:1/OpenADR2/Simple/2.0b", "v", buffer)
    assert ven._handle(event) == "optOut"
    assert buffer.counts()["malformed"] == 1 and buffer.counts()["received"] == 0


def test_update_replaces_and_cancel_removes_the_schedule() -> None:
    buffer = LiveSignalBuffer()
    ven = OpenAdrVen("http://127.0.0.1:1/OpenADR2/Simple/2.0b", "v", buffer)
    reader = LiveSignalReader(buffer, {"regulation_pu": 0.0}, T0)
    assert (
        ven._handle(_event("LOAD_CONTROL", "x-loadControlLevelOffset", [0.5, -0.5], 5)) == "optIn"
    )
    assert reader.values(7)["regulation_pu"] == -0.5
    ven._handle(_event("LOAD_CONTROL", "x-loadControlLevelOffset", [0.2, 0.1], 5))
    assert reader.values(7)["regulation_pu"] == 0.1
    cancelled = _event("LOAD_CONTROL", "x-loadControlLevelOffset", [0.2], 5)
    cancelled["event_descriptor"]["event_status"] = "cancelled"
    ven._handle(cancelled)
    assert reader.values(7)["regulation_pu"] == 0.0
    assert reader.values(10)["regulation_pu"] == 0.0  # after the last interval: idle


def test_credentials_come_from_an_environment_variable_and_never_print_the_secret(
    monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("TWIN_TEST_VEN", json.dumps({"cert": "c.pem", "passphrase": "s3cret"}))
    creds = load_credentials("TWIN_TEST_VEN", None)
    assert creds.cert == "c.pem" and creds.passphrase == "s3cret"
    assert "s3cret" not in repr(creds)
    monkeypatch.delenv("TWIN_TEST_VEN")
    with pytest.raises(ValueError, match="TWIN_TEST_VEN is not set"):
        load_credentials("TWIN_TEST_VEN", None)
    bad = tmp_path / "creds.json"
    bad.write_text('{"password": "s3cret"}', encoding="utf-8")
    with pytest.raises(ValueError, match="expected a JSON object") as err:
        load_credentials(None, str(bad))
    assert "s3cret" not in str(err.value)


def test_the_wall_clock_reads_what_is_commanded_now_the_scenario_clock_the_step_time() -> None:
    buffer = LiveSignalBuffer()
    t = T0.timestamp()
    buffer.put("reserve_reduction_kw", "e", [(t + 60, t + 120, 5.0)])
    wall = LiveSignalReader(buffer, {"reserve_reduction_kw": 0.0}, T0, "wall", now=lambda: t + 90)
    scenario = LiveSignalReader(buffer, {"reserve_reduction_kw": 0.0}, T0, "scenario")
    assert wall.values(0)["reserve_reduction_kw"] == 5.0
    assert scenario.values(0)["reserve_reduction_kw"] == 0.0
    assert scenario.values(60)["reserve_reduction_kw"] == 5.0
    assert scenario.values(120)["reserve_reduction_kw"] == 0.0  # [start, end)
