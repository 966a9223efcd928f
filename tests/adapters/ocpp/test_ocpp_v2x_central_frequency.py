"""OCPP 2.1 V2X CentralFrequency over real websockets: the CSMS hands the charger a
v2xSignalWattCurve around a baseline, then sends the regulation signal as AFRRSignal requests;
the charger moves its power along the curve with its own lag, and the power the CSMS meters
scores as a regulation response (PJM performance score)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import numpy as np
import pytest
from ocpp.exceptions import OCPPError
from ocpp.v21 import call as call21
from ocpp_lab import PASSWORD, eventually

from adapters.base import SetpointRejected
from adapters.ocpp import charging_profiles
from adapters.ocpp.charge_points import utc_now_iso
from adapters.ocpp.config import ChargerAuth
from adapters.testing.ocpp.received_profiles import ReceivedProfiles
from twin.metrics.pjm import PASS_SCORE, pjm_performance_score
from twin.signals.regulation import regulation_signal_pu

BASELINE_KW = 3.0
CAPACITY_KW = 6.0  # regulation band 3 +- 6 kW: -3 kW (V2G) .. 9 kW
MAX_KW = 11.0
TIME_SCALE = 20.0
"""The emulator's clock runs 20x the wall: 12 min of regulation in 36 s."""
SIGNAL_UPDATE_S = 5.0  # charger time between AFRRSignal requests (a 5-s regulation signal)
SAMPLE_S = 1.0  # charger time between readings of the metered power
DURATION_S = 720.0  # PJM needs >= 10 min (a 5-min window plus the 5-min delay search)
EV_LAG_S = 2.0  # the EV's first-order time constant, charger seconds
METER_INTERVAL_S = 2  # TxUpdatedInterval the CSMS asks for (PJM's 2-s telemetry)


_REAL_TIME = {"time_scale": 1.0, "time_constant_s": 0.1}
"""Protocol checks on the wall clock, with a quick EV."""


def _expected_kw(signal: int) -> float:
    """The curve by hand: baseline + capacity x signal / 100 (linear, symmetric)."""
    return BASELINE_KW + CAPACITY_KW * signal / 100.0


async def _central_frequency_charger(lab, **emulator_settings):
    system = await lab.csms(meter_interval_s=METER_INTERVAL_S)
    emulator_settings.setdefault("time_scale", TIME_SCALE)
    emulator_settings.setdefault("time_constant_s", EV_LAG_S)
    emulator = await lab.emulator(
        system,
        "CP1",
        "2.1",
        can_discharge=True,
        max_power_kw=MAX_KW,
        **emulator_settings,
    )
    adapter = system.adapter("CP1")
    await adapter.connect()
    await eventually(lambda: adapter.capabilities_reported, what="metering configured")
    await eventually(lambda: adapter.can_discharge, what="EV reported bidirectional")
    await adapter.set_central_frequency(capacity_kw=CAPACITY_KW, baseline_kw=BASELINE_KW)
    return system, emulator, adapter


async def _run_regulation(adapter, emulator, signal_pu: np.ndarray):
    """Send the signal every SIGNAL_UPDATE_S and read the metered power every SAMPLE_S (charger
    time, paced on the wall clock); reading k is taken before the signal of step k is sent."""
    metered_kw, charger_kw = [], []
    every = int(SIGNAL_UPDATE_S / SAMPLE_S)
    tick_wall_s = SAMPLE_S / TIME_SCALE
    start = time.monotonic()
    for k, value in enumerate(signal_pu):
        await asyncio.sleep(max(start + k * tick_wall_s - time.monotonic(), 0.0))
        metered_kw.append((await adapter.read()).power_kw)
        charger_kw.append(emulator.power_kw)
        if k % every == 0:
            await adapter.send_afrr_signal(charging_profiles.afrr_signal_from_pu(float(value)))
    return np.array(metered_kw), np.array(charger_kw)


def test_charger_tracks_the_afrr_signal_with_a_passing_pjm_score(run_lab):
    async def scenario(lab):
        system, emulator, adapter = await _central_frequency_charger(lab)
        period = emulator.profiles.history[-1]["charging_schedule"][0]["charging_schedule_period"][
            0
        ]
        assert period["operation_mode"] == "CentralFrequency"
        assert period["v2x_signal_watt_curve"] == [
            {"signal": -100, "power": -6000.0},
            {"signal": 100, "power": 6000.0},
        ]
        assert period["v2x_baseline"] == 3000.0
        assert (period["limit"], period["discharge_limit"]) == (9000.0, -3000.0)
        # No signal yet: the baseline alone.
        await eventually(lambda: abs(emulator.power_kw - BASELINE_KW) < 0.01, what="baseline")
        # Points on the curve, by hand: 50 -> 3 + 3 = 6 kW; -75 -> 3 - 4.5 = -1.5 kW (V2G).
        for signal in (50, -75):
            await adapter.send_afrr_signal(signal)
            await eventually(
                lambda s=signal: abs(emulator.power_kw - _expected_kw(s)) < 0.01,
                what=f"charger power at signal {signal}",
            )
            await eventually(
                lambda s=signal: abs(system.session("CP1").power_kw - _expected_kw(s)) < 0.05,
                what=f"metered power at signal {signal}",
            )

        n = int(DURATION_S / SAMPLE_S)
        signal_pu = regulation_signal_pu(
            dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC), SAMPLE_S, n, seed=13, update_s=5.0
        )
        profiles_before = len(emulator.profiles.history)
        metered_kw, charger_kw = await _run_regulation(adapter, emulator, signal_pu)
        # The signal moved the power: no profile was sent during the run.
        assert len(emulator.profiles.history) == profiles_before
        metered_pu = (metered_kw - BASELINE_KW) / CAPACITY_KW
        charger_pu = (charger_kw - BASELINE_KW) / CAPACITY_KW
        # Both directions of the band were used (the signal spans it too).
        assert metered_pu.min() < -0.4 and metered_pu.max() > 0.4
        metered = pjm_performance_score(signal_pu, metered_pu, SAMPLE_S)
        at_charger = pjm_performance_score(signal_pu, charger_pu, SAMPLE_S)
        print(
            f"PJM (CSMS meter) {metered.score:.3f} = C {metered.correlation:.3f} "
            f"D {metered.delay:.3f} P {metered.precision:.3f}; "
            f"at the charger {at_charger.score:.3f}"
        )
        assert metered.score >= PASS_SCORE
        assert at_charger.score >= PASS_SCORE
        # A frozen response (the baseline, as if the signals were ignored) would fail: C = 0,
        # D = 1, P = 0 -> 1/3 - the score above is earned by following the signal.
        frozen = pjm_performance_score(signal_pu, np.zeros_like(signal_pu), SAMPLE_S)
        assert frozen.score == pytest.approx(1.0 / 3.0)

    run_lab(scenario, timeout_s=90.0)


def test_afrr_signal_is_rejected_outside_central_frequency_mode(run_lab):
    async def scenario(lab):
        system, emulator, adapter = await _central_frequency_charger(lab, **_REAL_TIME)
        await adapter.set_power(4.0)  # CentralSetpoint replaces the CentralFrequency profile
        await eventually(lambda: abs(emulator.power_kw - 4.0) < 0.01, what="set-point 4 kW")
        with pytest.raises(SetpointRejected, match="AFRRSignal Rejected"):
            await adapter.send_afrr_signal(100)
        assert emulator.afrr_signal is None
        await asyncio.sleep(0.3)
        assert abs(emulator.power_kw - 4.0) < 0.01  # the set-point still holds
        with pytest.raises(SetpointRejected, match="must be an integer"):
            await adapter.send_afrr_signal(0.5)  # type: ignore[arg-type]

    run_lab(scenario, timeout_s=30.0)


def test_central_frequency_needs_2_1_and_discharge_capability(run_lab):
    async def scenario(lab):
        auth = ChargerAuth(password=PASSWORD)
        system = await lab.csms(chargers={"A": auth, "B": auth})
        await lab.emulator(system, "A", "1.6")
        await lab.emulator(system, "B", "2.1", can_discharge=False)
        a, b = system.adapter("A"), system.adapter("B")
        await a.connect()
        await b.connect()
        with pytest.raises(SetpointRejected, match="CentralFrequency needs OCPP 2.1"):
            await a.set_central_frequency(capacity_kw=6.0)
        with pytest.raises(SetpointRejected, match="AFRRSignal needs OCPP 2.1"):
            await a.send_afrr_signal(10)
        # 3 - 6 kW would discharge a charge-only EV; 6 +- 6 kW does not.
        with pytest.raises(SetpointRejected, match="has not said it can"):
            await b.set_central_frequency(capacity_kw=6.0, baseline_kw=3.0)
        await b.set_central_frequency(capacity_kw=6.0, baseline_kw=6.0)
        with pytest.raises(SetpointRejected, match="either a curve or"):
            await b.set_central_frequency([(-100, -1000.0), (100, 1000.0)], capacity_kw=1.0)

    run_lab(scenario, timeout_s=30.0)


def test_malformed_afrr_signal_gets_a_protocol_error_and_the_run_goes_on(run_lab):
    async def scenario(lab):
        system, emulator, adapter = await _central_frequency_charger(lab, **_REAL_TIME)
        await adapter.send_afrr_signal(50)
        await eventually(lambda: abs(emulator.power_kw - _expected_kw(50)) < 0.01, what="50")
        cp = system.session("CP1").cp
        malformed = (
            (call21.AFRRSignal(timestamp=utc_now_iso(), signal="high"), "TypeConstraintViolation"),
            (call21.AFRRSignal(timestamp=utc_now_iso(), signal=12.5), "TypeConstraintViolation"),
            (call21.AFRRSignal(timestamp="yesterday", signal=10), "FormatViolation"),
            (call21.AFRRSignal(timestamp=utc_now_iso(), signal=None), "ProtocolError"),
        )
        for request, code in malformed:
            # As a broken CSMS would send it: past our own schema check.
            with pytest.raises(OCPPError) as caught:
                await cp.call(request, suppress=False, skip_schema_validation=True)
            assert caught.value.code == code
        assert emulator.afrr_signal == 50  # none of them moved the charger
        assert emulator.connected
        reports = emulator.meter_reports_sent
        # The run goes on: the next signal is followed and the meter keeps reporting.
        await adapter.send_afrr_signal(-50)
        await eventually(lambda: abs(emulator.power_kw - _expected_kw(-50)) < 0.01, what="-50")
        await eventually(lambda: emulator.meter_reports_sent > reports, what="meter values")
        # A signal for later comes in force at its timestamp, not on arrival.
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.5)
        await adapter.send_afrr_signal(100, at=at)
        assert emulator.afrr_signal == -50
        await eventually(lambda: emulator.afrr_signal == 100, timeout_s=3.0, what="in force")
        assert dt.datetime.now(dt.UTC) >= at
        await eventually(lambda: abs(emulator.power_kw - _expected_kw(100)) < 0.01, what="100")

    run_lab(scenario, timeout_s=30.0)


def test_signal_curve_validation_and_the_pu_signal():
    assert charging_profiles.signal_curve_problems([(-100, -5.0), (0, 0.0), (100, 5.0)]) == []
    assert charging_profiles.signal_curve_problems([(-100, 5.0), (100, -5.0)]) == []  # inverted
    problems = {
        "increase strictly": [(0, 0.0), (0, 1.0)],
        "integers": [(-1.5, 0.0), (1, 1.0)],
        "finite": [(-1, float("nan")), (1, 1.0)],
        "monotone": [(-100, 0.0), (0, 5.0), (100, 0.0)],
        "2..20 points": [(0, 0.0)],
    }
    for reason, curve in problems.items():
        with pytest.raises(ValueError, match=reason):
            charging_profiles.set_central_frequency_v21(curve, 1, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="baseline"):
        charging_profiles.set_central_frequency_v21([(-1, -1.0), (1, 1.0)], 1, None, float("inf"))
    with pytest.raises(ValueError, match="capacity"):
        charging_profiles.signal_watt_curve(0.0)
    # pu -> integer %: rounded, clipped to the band.
    assert [charging_profiles.afrr_signal_from_pu(x) for x in (0.374, -0.376, 1.7, -2.0)] == [
        37,
        -38,
        100,
        -100,
    ]
    request = charging_profiles.afrr_signal_v21(
        -38, dt.datetime(2026, 1, 5, 9, 0, 0, 250000, tzinfo=dt.UTC)
    )
    assert (request.signal, request.timestamp) == (-38, "2026-01-05T09:00:00.250Z")


def test_received_central_frequency_profile_interpolates_holds_and_clamps():
    profiles = ReceivedProfiles()
    request = charging_profiles.set_central_frequency_v21(
        [(-50, -4000.0), (0, 0.0), (50, 2000.0)], 1, None, baseline_w=1000.0
    )
    profiles.install(request.charging_profile, received_s=0.0, version="2.1")
    assert profiles.operation_mode(1.0) == "CentralFrequency"

    def power(signal: int | None) -> float:
        return profiles.allowed_kw(1.0, MAX_KW, afrr_signal=signal)

    assert power(None) == pytest.approx(1.0)  # no signal yet: the baseline
    assert power(25) == pytest.approx(1.0 + 1.0)  # halfway to 2 kW
    assert power(-10) == pytest.approx(1.0 - 0.8)  # a fifth of the way to -4 kW
    assert power(100) == pytest.approx(3.0)  # held beyond the end: 1 + 2
    assert power(-100) == pytest.approx(-3.0)  # 1 - 4
    # The station's envelope still clamps what the signal asks for.
    profiles.install(
        charging_profiles.set_external_limits_v21(2.5, 1.0).charging_profile, 0.0, "2.1"
    )
    assert (power(100), power(-100)) == (pytest.approx(2.5), pytest.approx(-1.0))
