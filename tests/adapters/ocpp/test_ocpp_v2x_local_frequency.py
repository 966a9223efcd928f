"""OCPP 2.1 V2X LocalFrequency over real websockets: the CSMS hands the charger a
v2xFreqWattCurve, the charger follows the grid frequency itself (no set-point per second), and
the droop measured at the charger side is the one the curve encodes."""

from __future__ import annotations

import numpy as np
import pytest
from ocpp_lab import eventually

from adapters.base import SetpointRejected
from adapters.ocpp import charging_profiles

RATED_KW = 6.0
DROOP_PERCENT = 0.4  # full rating at 0.2 Hz from 50 Hz
DEADBAND_HZ = 0.01


def _fit_droop(freqs_hz, powers_kw):
    """Droop % from measured points beyond the deadband: rating / (nominal x slope)."""
    df = np.asarray(freqs_hz) - 50.0
    x = np.sign(df) * np.maximum(np.abs(df) - DEADBAND_HZ, 0.0)
    slope_kw_per_hz = np.polyfit(x, np.asarray(powers_kw), 1)[0]
    return RATED_KW / (50.0 * slope_kw_per_hz) * 100.0


def test_local_frequency_charger_follows_the_curve_with_its_droop(run_lab):
    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(
            system, "CP1", "2.1", can_discharge=True, max_power_kw=RATED_KW, meter_interval_s=1.0
        )
        adapter = system.adapter("CP1")
        await adapter.connect()
        await eventually(lambda: adapter.can_discharge, what="EV reported bidirectional")
        curve = charging_profiles.droop_curve(
            RATED_KW * 1000.0, DROOP_PERCENT, deadband_hz=DEADBAND_HZ
        )
        await adapter.set_frequency_curve(curve)
        period = emulator.profiles.history[-1]["charging_schedule"][0]["charging_schedule_period"][
            0
        ]
        assert period["operation_mode"] == "LocalFrequency"
        assert [p["frequency"] for p in period["v2x_freq_watt_curve"]] == [f for f, _ in curve]

        profiles_before = len(emulator.profiles.history)
        measured_emulator, measured_csms, freqs = [], [], []
        for f in (49.86, 49.90, 49.95, 49.98, 50.0, 50.03, 50.07, 50.12, 50.16):
            emulator.set_frequency(f)
            expected_kw = float(np.interp(f, [c[0] for c in curve], [c[1] for c in curve])) / 1e3
            # The charger side: its own power settles on the curve (no CSMS message needed).
            await eventually(
                lambda e=expected_kw: abs(emulator.power_kw - e) < 0.01,
                timeout_s=10.0,
                what=f"charger power at {f} Hz",
            )
            measured_emulator.append(emulator.power_kw)
            # ... and the CSMS sees it in the meter values.
            await eventually(
                lambda e=expected_kw: abs(system.session("CP1").power_kw - e) < 0.05,
                timeout_s=15.0,
                what=f"metered power at {f} Hz",
            )
            measured_csms.append(system.session("CP1").power_kw)
            freqs.append(f)
        # No set-point was sent while the frequency moved: the charger did it itself.
        assert len(emulator.profiles.history) == profiles_before
        assert min(measured_emulator) < -3.0 and max(measured_emulator) > 3.0  # V2G and charge
        beyond = [i for i, f in enumerate(freqs) if abs(f - 50.0) > DEADBAND_HZ]
        assert _fit_droop([freqs[i] for i in beyond], [measured_emulator[i] for i in beyond]) == (
            pytest.approx(DROOP_PERCENT, rel=0.02)
        )
        assert _fit_droop([freqs[i] for i in beyond], [measured_csms[i] for i in beyond]) == (
            pytest.approx(DROOP_PERCENT, rel=0.03)
        )
        inside = measured_emulator[freqs.index(50.0)]
        assert abs(inside) < 0.01  # the deadband holds the baseline

        # A central set-point takes over again.
        await adapter.set_power(2.0)
        emulator.set_frequency(49.9)
        await eventually(lambda: abs(emulator.power_kw - 2.0) < 0.01, what="back to central")

    run_lab(scenario, timeout_s=120.0)


def test_local_frequency_needs_2_1_and_discharge_capability(run_lab):
    async def scenario(lab):
        system = await lab.csms(
            chargers={
                "A": lab_auth(),
                "B": lab_auth(),
            }
        )
        await lab.emulator(system, "A", "1.6")
        await lab.emulator(system, "B", "2.1", can_discharge=False)
        curve = charging_profiles.droop_curve(6000.0, 0.4)
        for cid, reason in (("A", "needs OCPP 2.1"), ("B", "has not said it can")):
            adapter = system.adapter(cid)
            await adapter.connect()
            with pytest.raises(SetpointRejected, match=reason):
                await adapter.set_frequency_curve(curve)
        # A charge-only curve is fine for a charge-only 2.1 charger.
        await system.adapter("B").set_frequency_curve(
            charging_profiles.droop_curve(6000.0, 0.4, baseline_w=3000.0, discharge=False)
        )
        with pytest.raises(ValueError, match="increase"):
            charging_profiles.set_local_frequency_v21([(50.1, 0.0), (50.0, 1.0)], 1, None)

    run_lab(scenario, timeout_s=60.0)


def lab_auth():
    from ocpp_lab import PASSWORD

    from adapters.ocpp.config import ChargerAuth

    return ChargerAuth(password=PASSWORD)
