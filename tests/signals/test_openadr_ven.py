"""OpenADR 2.0b dispatch end to end: a real openleadr VTN on 127.0.0.1 (random port), the twin's
VEN registers, the VTN sends a tertiary-reserve event (1-min commands) and an event the twin
cannot use before the run, and a 5-s regulation signal while it runs; the run is paced at 20x real time. The EMS must follow: fleet
power = -(reserve reduction) - signal x capacity (regulation positive = discharge), computed
here from what the VTN sent, not from the twin's records."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import threading
from typing import Any

import numpy as np
import pytest
import yaml

openleadr = pytest.importorskip("openleadr")  # a declared dependency: CI always has it

from twin.catalog import load_scenario  # noqa: E402
from twin.results import columns as col  # noqa: E402
from twin.results.readers import read_table  # noqa: E402
from twin.run.world import prepare_run  # noqa: E402

# The run starts in the (wall-clock) future: openleadr does not deliver or answer events whose
# active period is over by the wall clock, and at 20x the simulated day runs ahead of it.
TOKYO = dt.timezone(dt.timedelta(hours=9))
# (Taken when each test starts, not at collection: a full suite may collect minutes earlier.)


def _start_ahead() -> dt.datetime:
    return (dt.datetime.now(TOKYO) + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)


STEP_S = 5
DURATION_S = 300
RT_FACTOR = 0.05  # 300 simulated s in ~15 wall s
CAPACITY_KW = 10.0
RESERVE_AT_S, RESERVE_KW = 60, (4.0, 8.0)  # two 1-min commands from t = 60 s
REG_AT_S, REG_N = 150, 24  # 24 x 5-s regulation intervals from t = 150 s (2 min)
REG_SENT_AT_S = 30  # the VTN sends the regulation event while the run is at t = 30 s
FEMS_DURATION_S = 120
FEMS_KW = (6.0, 3.0)  # the power each 30-min slot's request asks for over the part the run sees
REG_PU = np.round(np.sin(np.arange(REG_N) / 3.0) * 0.9, 3)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestVtn:
    """An openleadr OpenADRServer on its own loop thread, accepting the one VEN."""

    __test__ = False

    def __init__(self, port: int) -> None:
        from openleadr import OpenADRServer

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.opts: dict[str, str] = {}
        self.opted = threading.Condition()
        self.ven_id = "ven-fleet-1"
        self.port = port
        self.server_cls = OpenADRServer
        self.server: Any = None
        self.run_start = _start_ahead()

    def call(self, coro: Any, timeout: float = 20.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        self.server = self.server_cls(
            vtn_id="TESTVTN",
            http_host="127.0.0.1",
            http_port=self.port,
            requested_poll_freq=dt.timedelta(seconds=1),
        )
        self.server.add_handler("on_create_party_registration", self._register)
        await self.server.run()

    async def _register(self, registration_info: dict) -> tuple[str, str]:
        return self.ven_id, "reg-1"

    def _opt(self, ven_id: str, event_id: str, opt_type: str) -> None:
        with self.opted:
            self.opts[event_id] = opt_type
            self.opted.notify_all()

    def start(self) -> None:
        self.thread.start()
        self.call(self._start())

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def add_event(
        self, signal_name: str, signal_type: str, start_s: float, step_s: float, values
    ) -> str:
        from openleadr.objects import Interval

        intervals = [
            Interval(
                dtstart=self.run_start + dt.timedelta(seconds=start_s + i * step_s),
                duration=dt.timedelta(seconds=step_s),
                signal_payload=float(v),
            )
            for i, v in enumerate(values)
        ]

        async def add() -> str:
            return self.server.add_event(
                ven_id=self.ven_id,
                signal_name=signal_name,
                signal_type=signal_type,
                intervals=intervals,
                callback=self._opt,
            )

        return self.call(add())

    def wait_opt(self, event_id: str, timeout: float = 20.0) -> str | None:
        with self.opted:
            self.opted.wait_for(lambda: event_id in self.opts, timeout)
            return self.opts.get(event_id)


def _scenario(tmp_path, port: int, start: dt.datetime, fems: bool = False):
    source = {
        "source": "openadr",
        "vtn_url": f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b",
        "ven_name": "fleet-ven",
        "connect_timeout_s": 20,
    }
    data = {
        "name": "openadr_dispatch",
        "start": start.replace(tzinfo=None).isoformat(),
        "timezone": "Asia/Tokyo",
        "duration": f"{FEMS_DURATION_S if fems else DURATION_S}s",
        "step": f"{STEP_S}s",
        "seed": 1,
        "grid": {
            "name": "japan_6kv_feeder",
            "params": {"n_sections": 1, "transformers_per_section": 1, "houses_per_transformer": 4},
        },
        "fleets": {
            "phev": {
                "type": "business",
                "count": 6,
                "vehicle": {"battery_kwh": 8.8, "ac_max_kw": 5.9, "bidirectional": True},
                # An ideal charger: it delivers each set-point within its step.
                "charger": {"max_kw": 5.9, "bidirectional": True, "response_time_s": 0.0},
                "soc_floor": 0.5,
                # Room to charge for the FEMS requests (charging stops at the target).
                "soc_target": 0.95 if fems else 0.75,
                "soc_initial": [0.75, 0.75],
                "trips": {"work_days": []},
            }
        },
        "signals": (
            {"fems": dict(source)}
            if fems
            else {"reserve": dict(source), "regulation": dict(source)}
        ),
        "ems": {
            "services": (
                [{"type": "fems_schedule", "order": 50}]
                if fems
                else [
                    {"type": "reserve", "order": 60, "product": "tertiary_1", "baseline_kw": 0.0},
                    {"type": "regulation", "order": 90, "capacity_kw": CAPACITY_KW},
                ]
            )
        },
        "outputs": {"dir": str(tmp_path), "grid_detail": False},
    }
    if not fems:
        # Settled per minute into ledger.jsonl (twin/markets): the dispatch is paid from the record.
        data["market"] = {
            "interval": "1min",
            "reserve": {"energy_price_per_kwh": 15.0, "penalty_per_kwh": 30.0},
            "regulation": {"capacity_price_per_kw_h": 5.0},
        }
    path = tmp_path / "openadr.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_scenario(path)


@pytest.mark.timeout(120)
def test_ems_follows_openadr_reserve_event_and_5s_regulation(tmp_path) -> None:
    port = _free_port()
    vtn = TestVtn(port)
    vtn.start()
    try:
        scenario = _scenario(tmp_path, port, vtn.run_start)
        reserve_id = vtn.add_event(
            "LOAD_DISPATCH", "delta", RESERVE_AT_S, 60, [-k for k in RESERVE_KW]
        )
        # A signal the twin does not take: answered optOut, counted, the run goes on.
        simple_id = vtn.add_event("SIMPLE", "level", 0, 60, [1.0])
        prepared = prepare_run(scenario, tmp_path / "run", realtime=True)
        sent: dict[str, str] = {}

        def send_regulation(row: dict, detail: dict) -> None:
            # Live dispatch: the 5-s signal is sent while the run goes, 2 simulated min ahead.
            if not sent and row[col.TIME_S] >= REG_SENT_AT_S:
                sent["id"] = vtn.add_event(
                    "LOAD_CONTROL", "x-loadControlLevelOffset", REG_AT_S, 5, REG_PU
                )

        prepared.observers.append(send_regulation)
        outcome = prepared.run(rt_factor=RT_FACTOR, progress=False)
        assert vtn.wait_opt(reserve_id) == "optIn"
        assert vtn.wait_opt(sent["id"]) == "optIn"
        assert vtn.wait_opt(simple_id) == "optOut"
    finally:
        vtn.stop()

    assert outcome.summary["status"] == "completed"
    stats = outcome.summary["openadr"]
    assert stats["received"] == 2 and stats["malformed"] == 1, stats
    assert "SIMPLE/level" in stats["vens"][0]["problems"][0]
    table = read_table(tmp_path / "run", col.TIMESERIES)
    t = table[col.TIME_S].to_numpy()
    # What the VTN commanded at each step, from the events as sent.
    reduction = np.zeros(t.size)
    for i, kw in enumerate(RESERVE_KW):
        reduction[(t >= RESERVE_AT_S + 60 * i) & (t < RESERVE_AT_S + 60 * (i + 1))] = kw
    reg = np.zeros(t.size)
    for i, pu in enumerate(REG_PU):
        reg[(t >= REG_AT_S + 5 * i) & (t < REG_AT_S + 5 * (i + 1))] = pu
    np.testing.assert_allclose(table[col.signal_column("reserve_reduction_kw")], reduction)
    np.testing.assert_allclose(table[col.SIGNAL_REGULATION_PU], reg)
    # Fleet power (+ charge): reserve asks for `reduction` less than the 0-kW baseline,
    # regulation +1 asks for `capacity` more injection. 6 x 5.9 kW covers every command, and
    # the SOC stays far above the floor (< 0.3 kWh moved of 6 x 8.8 kWh), so the ideal
    # chargers deliver it exactly, up to float rounding.
    commanded_kw = -reduction - reg * CAPACITY_KW
    p_kw = table[col.fleet_p_kw("phev")].to_numpy()
    assert np.abs(commanded_kw).max() > 15.0  # the test commands something
    np.testing.assert_allclose(p_kw, commanded_kw, atol=1e-6 * 6 * 5.9)
    # The ledger settles the dispatch: one reserve entry per commanded minute, holding the
    # energy the VTN asked for (kW x h, from the events as sent) and paid for it.
    ledger = tmp_path / "run" / col.LEDGER_FILE
    entries = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]
    reserve = [e for e in entries if e["product"] == "reserve"]
    assert len(reserve) == len(RESERVE_KW)
    # One meter: the minute's delivered energy also holds the regulation's (as a real meter's).
    for i, (entry, kw) in enumerate(zip(reserve, RESERVE_KW, strict=True)):
        minute = (t >= RESERVE_AT_S + 60 * i) & (t < RESERVE_AT_S + 60 * (i + 1))
        metered = float(((reduction + reg * CAPACITY_KW)[minute]).sum() * STEP_S / 3600)
        assert entry["commanded_kwh"] == pytest.approx(kw / 60, abs=1e-6)
        assert entry["delivered_kwh"] == pytest.approx(metered, abs=1e-6)
        paid = min(max(metered, 0.0), 1.1 * kw / 60)
        assert entry["payment"] == pytest.approx(15.0 * paid, abs=1e-6)
        short = max(0.0, 0.9 * kw / 60 - metered)
        assert entry["penalty"] == pytest.approx(30.0 * short, abs=1e-6)
    assert {e["product"] for e in entries} >= {"reserve", "regulation", "customer_bill"}
    assert outcome.summary["ledger"]["entries"] == len(entries)


def test_a_virtual_run_refuses_a_live_source_naming_the_field(tmp_path) -> None:
    from twin.config import ScenarioError

    scenario = _scenario(tmp_path, _free_port(), _start_ahead())
    with pytest.raises(ScenarioError) as err:
        prepare_run(scenario, tmp_path / "virtual")
    assert "signals.regulation.source: openadr is a live source" in str(err.value)


def test_a_vtn_that_is_not_there_is_a_problem_at_the_url(tmp_path) -> None:
    scenario = _scenario(tmp_path, _free_port(), _start_ahead())
    data = yaml.safe_load((tmp_path / "openadr.yaml").read_text(encoding="utf-8"))
    for kind in ("reserve", "regulation"):
        data["signals"][kind]["connect_timeout_s"] = 2
    (tmp_path / "openadr.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    scenario = load_scenario(tmp_path / "openadr.yaml")
    prepared = prepare_run(scenario, tmp_path / "no_vtn", realtime=True)
    from twin.config import ScenarioError

    with pytest.raises(
        ScenarioError, match=r"signals\.regulation\.vtn_url: OpenADR VEN .fleet-ven. not registered"
    ):
        prepared.run(rt_factor=RT_FACTOR, progress=False)


@pytest.mark.timeout(120)
def test_fems_kwh_requests_over_openadr_are_delivered_slot_by_slot(tmp_path) -> None:
    port = _free_port()
    vtn = TestVtn(port)
    vtn.start()
    start = vtn.run_start
    # FEMS slots are aligned to the local clock (hh:00, hh:30); the run sees the rest of the
    # slot holding its start (and maybe the beginning of the next one).
    slot0 = start.replace(minute=start.minute - start.minute % 30)
    seen_s = [(slot0 + dt.timedelta(minutes=30) - start).total_seconds(), 1800.0]
    request_kwh = [kw * s / 3600.0 for kw, s in zip(FEMS_KW, seen_s, strict=True)]
    try:
        scenario = _scenario(tmp_path, port, start, fems=True)
        vtn.run_start = slot0  # the event's intervals are the slots themselves
        fems_id = vtn.add_event("LOAD_DISPATCH", "setpoint", 0, 1800, request_kwh)
        outcome = prepare_run(scenario, tmp_path / "run", realtime=True).run(
            rt_factor=RT_FACTOR, progress=False
        )
        assert vtn.wait_opt(fems_id) == "optIn"
    finally:
        vtn.stop()
    assert outcome.summary["status"] == "completed"
    table = read_table(tmp_path / "run", col.TIMESERIES)
    t = table[col.TIME_S].to_numpy()
    in_first = t < seen_s[0]
    np.testing.assert_allclose(
        table[col.SIGNAL_FEMS_KWH], np.where(in_first, request_kwh[0], request_kwh[1])
    )
    # Closed loop on delivered energy with ideal chargers: each slot's request spread evenly
    # over the part of it the run sees.
    p_kw = table[col.fleet_p_kw("phev")].to_numpy()
    np.testing.assert_allclose(p_kw, np.where(in_first, FEMS_KW[0], FEMS_KW[1]), atol=1e-6 * 35.4)
