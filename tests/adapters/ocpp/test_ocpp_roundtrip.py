"""Boot -> transaction -> profile honoured -> meter values back, over real websockets, per version."""

import pytest
from ocpp_lab import eventually

from adapters.base import ChargerAdapter, ChargerStatus, ChargerUnavailable, SetpointRejected
from adapters.ocpp.charging_profiles import PROFILE_ID
from adapters.ocpp.config import ChargerAuth

VERSIONS = ["1.6", "2.0.1", "2.1"]


def period_of(profile: dict, version: str) -> dict:
    schedule = profile["charging_schedule"]
    if version != "1.6":
        schedule = schedule[0]
    return schedule["charging_schedule_period"][0]


@pytest.mark.parametrize("version", VERSIONS)
def test_setpoint_round_trip(run_lab, version):
    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(system, "CP1", version, max_power_kw=11.0)
        adapter = system.adapter("CP1")
        assert isinstance(adapter, ChargerAdapter)
        await adapter.connect()
        assert adapter.version == version

        # The CSMS configured metering right after the boot.
        await eventually(lambda: emulator.meter_interval_s == 1.0, what="meter interval set")
        assert "Power.Active.Import" in emulator.measurands
        assert "SoC" in emulator.measurands

        # Without a profile the EV charges at its maximum: 11 kW.
        await eventually(lambda: emulator.power_kw > 10.9, what="EV at max power")

        await adapter.set_power(4.2)
        profile = emulator.profiles.history[-1]
        period = period_of(profile, version)
        assert profile["charging_profile_purpose"] == "TxProfile"
        assert str(profile["transaction_id"]) == str(emulator.transaction_id)
        if version == "2.1":
            assert period["operation_mode"] == "CentralSetpoint"
            assert float(period["setpoint"]) == 4200.0
        else:
            assert float(period["limit"]) == 4200.0
        assert emulator.target_kw == pytest.approx(4.2)

        async def measured_near(value_kw):
            reading = await adapter.read()
            return abs(reading.power_kw - value_kw) < 0.05

        await eventually(lambda: measured_near(4.2), what="reading at 4.2 kW")
        reading = await adapter.read()
        assert reading.status is ChargerStatus.CHARGING
        assert reading.soc == pytest.approx(0.5, abs=0.01)  # 60 kWh EV starting at 50 %
        # Energy register: charged at 11 kW then 4.2 kW for a few seconds, so a few Wh.
        assert 0.0 < reading.energy_kwh < 0.05

        await adapter.close()  # ClearChargingProfile: the EV goes back to its maximum
        assert len(emulator.profiles) == 0
        await eventually(lambda: emulator.power_kw > 10.9, what="back to max after clear")

    run_lab(scenario)


def test_v21_discharge_round_trip(run_lab):
    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(system, "CP1", "2.1", can_discharge=True, max_power_kw=7.0)
        adapter = system.adapter("CP1")
        await adapter.connect()
        await eventually(lambda: adapter.can_discharge, what="EV reported bidirectional")

        await adapter.set_power(-3.0)
        period = period_of(emulator.profiles.history[-1], "2.1")
        assert float(period["setpoint"]) == -3000.0
        assert float(period["discharge_limit"]) == -3000.0
        assert float(period["limit"]) == 0.0

        async def discharging():
            reading = await adapter.read()
            return abs(reading.power_kw + 3.0) < 0.05

        await eventually(discharging, what="measured -3 kW")
        reading = await adapter.read()
        assert reading.status is ChargerStatus.DISCHARGING
        energy_before = reading.energy_kwh
        await eventually(
            lambda: _energy_below(adapter, energy_before), what="net energy decreasing"
        )

    run_lab(scenario)


async def _energy_below(adapter, value_kwh):
    return (await adapter.read()).energy_kwh < value_kwh - 0.0005


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_discharge_refused_where_the_protocol_cannot(run_lab, version):
    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(system, "CP1", version, can_discharge=True)
        adapter = system.adapter("CP1")
        await adapter.connect()
        assert adapter.can_discharge is False
        sent_before = len(emulator.profiles.history)
        with pytest.raises(SetpointRejected, match="discharge is not possible"):
            await adapter.set_power(-2.0)
        assert len(emulator.profiles.history) == sent_before  # nothing was sent

    run_lab(scenario)


def test_profile_sent_before_the_transaction_becomes_a_tx_profile(run_lab):
    """A set-point given while no transaction runs is a TxDefaultProfile; the CSMS refreshes it
    as a TxProfile once the transaction starts."""

    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(system, "CP1", "1.6")
        adapter = system.adapter("CP1")
        await emulator.stop_transaction()
        await eventually(lambda: system.session("CP1").transaction_id is None)
        await adapter.set_power(2.0)
        assert emulator.profiles.history[-1]["charging_profile_purpose"] == "TxDefaultProfile"
        await emulator._start_transaction()
        await eventually(
            lambda: emulator.profiles.history[-1]["charging_profile_purpose"] == "TxProfile",
            what="refreshed TxProfile",
        )
        profile = emulator.profiles.history[-1]
        assert profile["charging_profile_id"] == PROFILE_ID
        assert profile["transaction_id"] == emulator.transaction_id
        assert emulator.target_kw == pytest.approx(2.0)

    run_lab(scenario)


def test_read_of_a_charger_that_never_came(run_lab):
    async def scenario(lab):
        system = await lab.csms(
            {"CP1": ChargerAuth(), "CP9": ChargerAuth()}, allow_no_password=True
        )
        adapter = system.adapter("CP9", connect_timeout_s=0.2)
        with pytest.raises(ChargerUnavailable, match="did not connect"):
            await adapter.connect()
        with pytest.raises(ChargerUnavailable):
            await adapter.read()
        with pytest.raises(ChargerUnavailable):
            await adapter.set_power(1.0)
        assert system.connected() == []

    run_lab(scenario)


def test_connected_lists_chargers_of_every_version(run_lab):
    async def scenario(lab):
        chargers = {name: ChargerAuth() for name in ("A16", "B201", "C21")}
        system = await lab.csms(chargers, allow_no_password=True)
        for name, version in (("A16", "1.6"), ("B201", "2.0.1"), ("C21", "2.1")):
            await lab.emulator(system, name, version, password=None)
        listed = {info.charger_id: info for info in system.connected()}
        assert {k: v.version for k, v in listed.items()} == {
            "A16": "1.6",
            "B201": "2.0.1",
            "C21": "2.1",
        }
        assert listed["A16"].vendor == "EvFleetTwin"
        assert listed["A16"].remote_address.startswith("127.0.0.1:")
        assert all(info.transaction_id for info in listed.values())

    run_lab(scenario)
