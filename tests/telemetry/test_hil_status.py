"""What the run hands the publisher about its hardware loop (PreparedRun.hil_status), read from
a stand-in link; the lateness comes from a real LatenessMeter on a fake clock."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from twin.run.hardware_link import LatenessMeter
from twin.run.world import PreparedRun


def status_of(hardware, observers=()):
    return PreparedRun.hil_status(SimpleNamespace(hardware=hardware, observers=list(observers)))


def test_no_physical_chargers_no_status():
    assert status_of(None) is None


def test_link_not_started_yet_has_no_charger_state():
    link = SimpleNamespace(bridge=None)
    assert status_of(link) == {"chargers": {}, "step_lateness_s": None}


def test_link_status_readings_and_lateness(monkeypatch):
    import twin.run.world as world

    monkeypatch.setattr(world.time, "monotonic", lambda: 100.0)
    reading = SimpleNamespace(timestamp_s=98.5, status="Charging", energy_kwh=3.25, soc=0.6)
    link = SimpleNamespace(
        bridge=object(),
        status=lambda: {"CP1": "online", "CP2": "connecting"},
        readings=lambda: {"CP1": reading, "CP2": None},
    )
    clock = iter([10.0, 10.0, 10.7])
    meter = LatenessMeter(1.0, clock=lambda: next(clock))
    meter.observe(0)  # t0 = 10.0
    meter.observe(0)  # on time
    meter.observe(0)  # 0.7 s late
    status = status_of(link, [object(), meter])
    assert status["chargers"] == {
        "CP1": {
            "status": "online",
            "last_message_age_s": pytest.approx(1.5),
            "charger_status": "Charging",
            "energy_kwh": 3.25,
            "soc": 0.6,
        },
        "CP2": {"status": "connecting", "last_message_age_s": None},
    }
    assert status["step_lateness_s"] == pytest.approx(0.7)
