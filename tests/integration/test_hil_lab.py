"""hil_lab.yaml end to end: real CSMS, two OCPP emulators and a Modbus emulator over 127.0.0.1,
mosaik paced in (accelerated) real time; then the same scenario fully virtual for comparison."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time

import numpy as np
import pytest

from adapters.testing.modbus.emulator import ModbusChargerEmulator
from adapters.testing.ocpp.emulator import ChargePointEmulator, EmulatorConfig
from tests.conftest import ROOT
from twin.catalog import ScenarioError, load_scenario
from twin.results.readers import read_table
from twin.run.hardware_link import HardwareLink
from twin.run.world import prepare_run

HIL = ROOT / "scenarios" / "hil_lab.yaml"
SECONDS_PER_STEP = 0.25  # wall time per 15-min step


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """Emulated lab chargers on their own asyncio loop (they are independent network peers)."""

    def __init__(self, csms_port: int):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.url = f"ws://127.0.0.1:{csms_port}/ocpp"
        self.ocpp: dict[str, ChargePointEmulator] = {}
        self.modbus: ModbusChargerEmulator | None = None
        self.tasks: list = []

    def call(self, coro, timeout=20):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, modbus_port: int) -> None:
        self.thread.start()
        self.modbus = ModbusChargerEmulator("phoenix_charx", port=modbus_port)
        self.call(self.modbus.start())
        for cid, version, pw, v2x in (
            ("CP001", "1.6", "lab-secret-1", False),
            ("CP002", "2.1", "lab-secret-2", True),
        ):
            emu = ChargePointEmulator(
                EmulatorConfig(
                    url=self.url,
                    charger_id=cid,
                    version=version,
                    password=pw,
                    max_power_kw=6.0,
                    can_discharge=v2x,
                    battery_kwh=40,
                    meter_interval_s=1,
                    time_constant_s=0.1,
                    # The 2.1 EV says when it leaves and what it wants (NotifyEVChargingNeeds).
                    departure_in_s=5.0 if version == "2.1" else None,
                    energy_request_kwh=2.0 if version == "2.1" else None,
                )
            )
            self.ocpp[cid] = emu
            self.tasks.append(
                asyncio.run_coroutine_threadsafe(self._keep_connecting(emu), self.loop)
            )

    async def _keep_connecting(self, emu: ChargePointEmulator) -> None:
        # The CSMS starts with the run: retry until it is there (bounded by the test's duration).
        for _ in range(300):
            try:
                await emu.start()
                return
            except Exception:  # noqa: BLE001 - connection refused until the CSMS listens
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        for emu in self.ocpp.values():
            with contextlib.suppress(Exception):  # teardown: best effort
                self.call(emu.stop(), timeout=10)
        if self.modbus is not None:
            self.call(self.modbus.stop(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def hil_and_virtual(tmp_path_factory):
    csms_port, modbus_port = _free_port(), _free_port()
    overrides = {"hil.csms_port": csms_port, "hil.degraded_hold_s": 1.0}
    scenario = load_scenario(HIL, overrides)
    hardware = [b.model_dump() for b in scenario.hardware]
    hardware[2]["port"] = modbus_port
    scenario = load_scenario(HIL, {**overrides, "hardware": hardware})
    lab = Lab(csms_port)
    lab.start(modbus_port)
    try:
        run = prepare_run(scenario, tmp_path_factory.mktemp("hil"))

        def faults_midway(row, detail):
            # Drop CP001 at 12:00 (simulated) and let it come back at 14:00: a fault mid-run.
            if row["time_s"] == 12 * 3600:
                lab.call(lab.ocpp["CP001"].drop_connection())
            if row["time_s"] == 14 * 3600:
                asyncio.run_coroutine_threadsafe(lab.ocpp["CP001"].reconnect(), lab.loop)
            # An unknown charger knocks at 06:00: refused at the handshake, recorded, nothing else.
            if row["time_s"] == 6 * 3600:
                intruder = ChargePointEmulator(
                    EmulatorConfig(url=lab.url, charger_id="INTRUDER", version="1.6")
                )
                asyncio.run_coroutine_threadsafe(intruder.start(), lab.loop)
            # CP002 refuses every profile from 15:00 to 18:00 (a charger rejecting smart charging).
            if row["time_s"] == 15 * 3600:
                lab.ocpp["CP002"].reject_profiles = True
            if row["time_s"] == 18 * 3600:
                lab.ocpp["CP002"].reject_profiles = False

        model_power: list[tuple[int, float, float, bool]] = []

        def bound_ev_power(row, detail):
            # What the twin's own fleet model holds for the EV bound to CP001 after this step.
            fleet = run.fleets["commuters"]
            model_power.append(
                (
                    row["time_s"],
                    float(fleet.state.p_kw[0]),
                    float(fleet.state.soc[0]),
                    bool(fleet.plugged[0]),
                )
            )

        ev_plan: list[tuple[int, float, float]] = []

        def cp002_session(row, detail):
            # The session the twin plans for the EV bound to CP002 (households/3).
            view = run.fleets["households"].view()
            ev_plan.append(
                (row["time_s"], float(view.depart_s[3]), float(view.session_target_soc[3]))
            )

        run.observers += [faults_midway, bound_ev_power, cp002_session]
        t0 = time.monotonic()
        hil = run.run(rt_factor=SECONDS_PER_STEP / scenario.step, progress=False)
        wall = time.monotonic() - t0
    finally:
        lab.stop()
    virtual_sc = scenario.model_copy(update={"hardware": []})
    virtual = prepare_run(virtual_sc, tmp_path_factory.mktemp("virtual")).run(progress=False)
    hil.model_power = model_power
    hil.ev_plan = ev_plan
    return scenario, hil, virtual, wall


def test_hil_run_completes_in_paced_time(hil_and_virtual):
    scenario, hil, _, wall = hil_and_virtual
    assert hil.summary["status"] == "completed"
    assert hil.summary["steps"] == scenario.n_steps
    # Paced: the run cannot be faster than the rt factor allows.
    assert wall >= 0.9 * scenario.n_steps * SECONDS_PER_STEP
    rt = hil.summary["realtime"]
    assert rt["lateness_p99_s"] < 1.0 and "lateness_p50_s" in rt


def test_measured_power_flows_back_into_the_twin(hil_and_virtual):
    _, hil, _, _ = hil_and_virtual
    table = read_table(hil.out_dir)
    for cid in (
        "CP001",
        "CP002",
        "127.0.0.1:"
        + str(
            json.loads((hil.out_dir / "summary.json").read_text())["hil"]["chargers"][2].split(":")[
                1
            ]
        ),
    ):
        col = f"hil.{cid}.power_kw"
        assert col in table, sorted(c for c in table if c.startswith("hil."))
    online = table[[c for c in table if c.endswith(".online")]]
    assert online.to_numpy().mean() > 0.7  # mostly online, including after the reconnect
    # The commuter EV bound to CP001 charges from late morning (push-up window) into the
    # afternoon: the charger measured it. Not pinned to the 10:00-12:00 steps alone: at 0.25 s
    # per step those are 2 s of wall time, less than one meter interval plus round trip on a
    # loaded CI machine.
    online_rows = table[table["hil.CP001.online"] == 1]
    assert online_rows["hil.CP001.power_kw"].max() > 3.0
    charging = online_rows[online_rows["hil.CP001.power_kw"] > 3.0]["time_s"]
    assert charging.min() < 16 * 3600, "CP001 charged only after the push-down window began"


def test_measured_power_replaces_the_model_in_the_fleet(hil_and_virtual):
    # The bound EV's power in the twin's fleet model is the charger's measurement, not the
    # simulated charger's (which would follow the set-point): rows where CP001 was online and
    # measured something, the EV was plugged in through the whole step (an unplugged EV draws 0
    # whatever the meter's noise) and the battery was not full (the BMS cut would change it).
    _, hil, _, _ = hil_and_virtual
    table = read_table(hil.out_dir).set_index("time_s")
    compared = 0
    for (_, _, _, was_plugged), (time_s, p_model, soc, plugged) in zip(
        hil.model_power[:-1], hil.model_power[1:], strict=True
    ):
        if table.loc[time_s, "hil.CP001.online"] == 1 and soc < 0.999 and was_plugged and plugged:
            assert p_model == pytest.approx(table.loc[time_s, "hil.CP001.power_kw"], abs=1e-9), (
                time_s
            )
            compared += 1
    assert compared >= 10  # CP001 is plugged in from 08:00 to ~18:30, minus the 2 h it was offline


def test_rejected_profiles_degrade_the_charger_and_the_run_goes_on(hil_and_virtual):
    _, hil, _, _ = hil_and_virtual
    events = json.loads((hil.out_dir / "hil_events.json").read_text())["events"]
    cp2 = [e for e in events if e["charger_id"] == "CP002" and e["source"] == "link"]
    rejected = [e for e in cp2 if e["kind"] == "rejected"]
    assert rejected and all(15 * 3600 <= e["sim_time_s"] <= 19 * 3600 for e in rejected), cp2
    assert len(rejected) <= 3  # an episode is one link event, not one per step
    # The central system's own record of each refusal is there too.
    assert any(
        e["source"] == "csms" and e["charger_id"] == "CP002" and e["kind"] == "rejected"
        for e in events
    )
    table = read_table(hil.out_dir)
    during = table[(table["time_s"] >= 16 * 3600) & (table["time_s"] < 18 * 3600)]
    assert (during["hil.CP002.degraded"] == 1).any() and (during["hil.CP002.online"] == 1).all()
    assert table["hil.CP002.degraded"].iloc[-8:].eq(0).all()  # accepted again after 18:00
    assert any(e["kind"] == "recovered" for e in cp2)


def test_disconnect_recorded_and_run_went_on(hil_and_virtual):
    _, hil, _, _ = hil_and_virtual
    events = json.loads((hil.out_dir / "hil_events.json").read_text())["events"]
    kinds = [(e["charger_id"], e["kind"]) for e in events]
    assert ("CP001", "disconnect") in kinds and ("CP001", "reconnect") in kinds, kinds


def test_central_system_events_reach_the_results(hil_and_virtual):
    _, hil, _, _ = hil_and_virtual
    events = json.loads((hil.out_dir / "hil_events.json").read_text())["events"]
    csms = {(e["charger_id"], e["kind"]) for e in events if e["source"] == "csms"}
    assert ("INTRUDER", "refused") in csms, csms
    assert ("CP001", "boot") in csms and ("CP002", "transaction_started") in csms, csms
    table = read_table(hil.out_dir)
    during = table[(table["time_s"] > 12 * 3600 + 1800) & (table["time_s"] < 14 * 3600)]
    assert (during["hil.CP001.online"] == 0).any()
    after = table[table["time_s"] > 15 * 3600]
    assert (after["hil.CP001.online"] == 1).all()


def test_kpis_agree_with_the_virtual_run(hil_and_virtual):
    # Tolerance: 3 of 300 chargers are physical; their measured power lags the set-point by up to
    # a few steps (1-s meter interval vs 0.25 s per simulated step) and CP001 was offline for 2 h.
    # Worst case 3 x 6 kW x 4 h window / 300 EVs = 0.24 kWh/EV/day, so allow 0.3 kWh/EV/day.
    _, hil, virtual, _ = hil_and_virtual
    for key in ("push_up_kwh_per_ev_day", "push_down_kwh_per_ev_day"):
        assert hil.summary["kpis"][key] == pytest.approx(virtual.summary["kpis"][key], abs=0.3), key
    assert virtual.summary["kpis"]["unmet_departure_energy_kwh"] == pytest.approx(0.0, abs=1e-6)


def test_only_hardware_bound_evs_can_miss_their_departure_energy(hil_and_virtual):
    # A physical charger may deliver less than commanded (the Phoenix map rounds current down to
    # whole amps; CP001 was offline for 2 h), so its EV can leave short. Every simulated EV must
    # still get its energy: the EMS re-plans around the hardware, it does not pass the loss on.
    scenario, hil, _, _ = hil_and_virtual
    bound = {(b.charger.split("/")[0], int(b.charger.split("/")[1])) for b in scenario.hardware}
    for name, fleet in hil.fleets.items():
        unmet = fleet.state.unmet_departure_kwh.copy()
        for fleet_name, index in bound:
            if fleet_name == name:
                unmet[index] = 0.0
        assert unmet.sum() == pytest.approx(0.0, abs=1e-6), name


def test_link_builds_a_simulated_binding_through_the_registry():
    # `adapter: simulated` runs the HIL path (registry -> bridge -> readings) with no network.
    scenario = load_scenario(
        HIL, {"hardware": [{"charger": "commuters/0", "adapter": "simulated", "id": "SIM1"}]}
    )
    link = HardwareLink(scenario)
    link.start()
    try:
        link.submit({"commuters": np.array([3.0, 0.0])})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and link.readings()["SIM1"] is None:
            time.sleep(0.05)
        assert link.status() == {"SIM1": "online"}
        assert link.readings()["SIM1"] is not None
        assert [e["kind"] for e in link.events()] == ["connect"]
    finally:
        link.stop()
    assert link.status() == {"SIM1": "stopped"}


def test_a_taken_csms_port_is_a_scenario_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        scenario = load_scenario(HIL, {"hil.csms_port": port})
        link = HardwareLink(scenario)
        with pytest.raises(ScenarioError) as err:
            link.start()
        assert err.value.problems[0][0] == "hil.csms_port"
        link.stop()  # nothing was started: a no-op


def test_hardware_section_per_charger(hil_and_virtual):
    # summary.json `hil.per_charger` and `twin report`'s hardware table: online share,
    # set-points sent / accepted / refused, energy measured against what the EMS commanded.
    _, hil, _, _ = hil_and_virtual
    per = json.loads((hil.out_dir / "summary.json").read_text())["hil"]["per_charger"]
    table = read_table(hil.out_dir)
    for cid, stats in per.items():
        online = table[f"hil.{cid}.online"].to_numpy()
        assert stats["online_share"] == pytest.approx(online.mean())
        assert stats["sent"] >= stats["accepted"] + stats["refused"] > 0
        measured = (table[f"hil.{cid}.power_kw"].where(online == 1, 0.0).sum()) * 900 / 3600
        assert stats["energy_measured_kwh"] == pytest.approx(measured, abs=1e-6)
    assert per["CP002"]["refused"] >= 1  # it refused every profile from 15:00 to 18:00
    # The charge-only chargers delivered what they were asked for, to within the Phoenix map's
    # whole-amp rounding, the meter's lag behind the set-point and CP001's 2 h offline.
    assert per["CP001"]["energy_measured_kwh"] > 0.5 * per["CP001"]["energy_modelled_kwh"] > 0
    from twin.cli.report import console, print_hardware

    with console().capture() as captured:
        print_hardware(per)
    text = captured.get()
    assert "hardware (per physical charger)" in text and "CP001" in text and "refused" in text


def test_the_evs_own_plan_replaces_the_models_session(hil_and_virtual):
    # CP002's EV said at plug-in: departure in 5 wall seconds (~5 h simulated at this pace)
    # and 2 kWh. The model's own session for households/3 ends at 09:15 with a 90 % target.
    _, hil, virtual, _ = hil_and_virtual
    time_s, depart_s, target = hil.ev_plan[0]
    assert virtual.fleets["households"].table.soc_target[3] == 0.9
    assert 0 < depart_s < 9.25 * 3600, hil.ev_plan[:3]
    assert target < 0.9  # its SOC at plug-in + 2 kWh / 40 kWh, not the model's 90 %
    events = json.loads((hil.out_dir / "hil_events.json").read_text())["events"]
    assert any(e["kind"] == "ev_needs" and e["charger_id"] == "CP002" for e in events)
