"""The HIL link's guards over real websockets: implausible meter values are rejected (event,
charger degraded, the twin keeps its model), and no discharge set-point goes to a charger that
has not said it can discharge."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from adapters.base import ChargerReading, ChargerStatus
from tests.integration.test_hil_readiness import HIL, _Chargers, _free_port, _hardware_on
from twin.catalog import load_scenario
from twin.run.hardware_link import HardwareLink, PhysicalRange


def _wait(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def lab():
    """CP001 (1.6, charge-only) and CP002 (2.1, started without discharge) behind a real CSMS."""
    csms_port = _free_port()
    hardware = [b for b in _hardware_on(_free_port()) if b["adapter"] == "ocpp"]
    for binding in hardware:
        binding["bidirectional"] = None  # as the chargers report it (hil_lab declares CP002)
    scenario = load_scenario(
        HIL,
        {
            "hil.csms_port": csms_port,
            "hil.connect_timeout_s": 60.0,
            "hil.degraded_hold_s": 600.0,
            "hardware": hardware,
        },
    )
    chargers = _Chargers()
    url = f"ws://127.0.0.1:{csms_port}/ocpp"
    chargers.start(url, "CP001", "lab-secret-1", "1.6")
    chargers.start(url, "CP002", "lab-secret-2", "2.1")
    link = HardwareLink(scenario)
    link.start()
    events: list[dict] = []
    try:
        yield link, {e.config.charger_id: e for e in chargers.emulators}, events
    finally:
        link.stop()
        chargers.stop()


@pytest.mark.parametrize("bad_kw", [-1e9, 1e305])  # 1e305 kW = "1e308" W on the wire
def test_implausible_meter_values_are_rejected_and_degrade_the_charger(lab, bad_kw):
    link, emulators, events = lab
    _wait(lambda: link.readings()["CP001"] is not None)
    emulators["CP001"].meter_power_kw = bad_kw

    def rejected() -> bool:
        readings = link.readings()
        events.extend(link.events())
        return readings["CP001"] is None and any(e["kind"] == "implausible" for e in events)

    _wait(rejected)
    assert link.status()["CP001"] == "degraded"
    assert link.status()["CP002"] == "online"
    (event,) = [e for e in events if e["kind"] == "implausible"]
    assert event["charger_id"] == "CP001" and "rejected" in event["detail"]
    # Later implausible readings are counted, not one event each.
    count = link.rejected_readings["CP001"]
    _wait(lambda: (link.readings(), link.rejected_readings["CP001"] > count + 2)[1])
    assert not [e for e in link.events() if e["kind"] == "implausible"]


def test_non_finite_and_out_of_range_readings_are_named():
    # (OCPP's parser already drops a non-finite sample; Modbus floats and other adapters can
    # deliver one, so the link checks every reading.)
    rating = PhysicalRange(0.0, 6.0, "fleets.commuters.charger")

    def reading(power_kw: float, energy_kwh: float = 1.0, soc: float | None = 0.5):
        return ChargerReading(power_kw, energy_kwh, soc, ChargerStatus.CHARGING, 0.0)

    assert rating.problem(reading(6.0)) is None and rating.problem(reading(-0.4)) is None
    assert "not finite" in rating.problem(reading(math.nan))
    assert "not finite" in rating.problem(reading(math.inf))
    assert "energy" in rating.problem(reading(1.0, energy_kwh=math.nan))
    assert "SoC" in rating.problem(reading(1.0, soc=1.5))
    assert "outside the charger's range 0..6 kW (fleets.commuters.charger)" in rating.problem(
        reading(-1e9)
    )
    assert rating.problem(reading(7.2)) is not None  # beyond 10 % + 0.5 kW over the rating


def test_the_physical_range_comes_from_the_replaced_charger():
    scenario = load_scenario(HIL)
    link = HardwareLink(scenario)
    # commuters are charge-only 6 kW, households bidirectional 6 kW.
    assert link.ranges["CP001"] == PhysicalRange(0.0, 6.0, "fleets.commuters.charger")
    assert link.ranges["CP002"] == PhysicalRange(-6.0, 6.0, "fleets.households.charger")
    hardware = [b.model_dump() for b in scenario.hardware]
    hardware[0]["bidirectional"] = True
    hardware[1]["bidirectional"] = False
    declared = HardwareLink(load_scenario(HIL, {"hardware": hardware}))
    assert declared.ranges["CP001"] == PhysicalRange(-6.0, 6.0, "fleets.commuters.charger")
    assert declared.ranges["CP002"] == PhysicalRange(0.0, 6.0, "fleets.households.charger")


def test_no_discharge_set_point_to_a_charger_that_has_not_said_it_can(lab):
    link, emulators, events = lab
    _wait(lambda: all(r is not None for r in link.readings().values()))
    # commuters/0 -> CP001 (1.6: no discharge), households/3 -> CP002 (2.1, EV without BPT).
    link.submit({"commuters": np.full(6, -3.0), "households": np.full(4, -6.0)})
    _wait(
        lambda: (
            events.extend(link.events()),
            sum(e["kind"] == "discharge_withheld" for e in events) == 2,
        )[1]
    )
    # Both were sent 0 kW instead: accepted, nothing refused, nobody degraded.
    _wait(lambda: all(abs(e.target_kw) < 1e-9 for e in emulators.values()))
    events.extend(link.events())
    assert not [e for e in events if e["kind"] in ("rejected", "callerror")], events
    assert set(link.status().values()) == {"online"}
    assert link.withheld_setpoints == {"CP001": 1, "CP002": 1}
    # A charge set-point goes out as it is.
    link.submit({"commuters": np.full(6, 4.0), "households": np.full(4, 2.0)})
    _wait(lambda: emulators["CP001"].target_kw > 3.9 and emulators["CP002"].target_kw > 1.9)


def test_a_non_finite_meter_value_is_an_event_and_never_a_reading(lab):
    # OCPP's parser leaves a NaN/inf value out (the reading keeps its last finite value); the
    # CSMS records it, so a broken meter is visible in hil_events.json.
    link, emulators, events = lab
    _wait(lambda: link.readings()["CP001"] is not None)
    emulators["CP001"].meter_power_kw = math.inf  # sent as "inf" W

    def recorded() -> bool:
        events.extend(link.events())
        return any(e["kind"] == "implausible" and e["source"] == "csms" for e in events)

    _wait(recorded)
    (event,) = [e for e in events if e["kind"] == "implausible" and e["source"] == "csms"][:1]
    assert event["charger_id"] == "CP001" and "not finite" in event["detail"]
    reading = link.readings()["CP001"]
    assert reading is None or math.isfinite(reading.power_kw)
