"""The life of a run: prepare (build the models, wire the World, write scenario.yaml and a
`running` summary), run (to the end, Ctrl-C or a crash), finish (flush results, summary.json).

Virtual runs go as fast as possible; real-time runs are paced by a WallClockPacer in the EMS step
(twin/run/pacing.py says why not mosaik's own rt_factor). The models come from twin/run/build.py,
the two wirings from twin/run/wiring.py, the summary's fields from twin/results/summary.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mosaik
import numpy as np

from twin.config import scenario_as_run
from twin.config.schema import Scenario
from twin.fleet.model import Fleet
from twin.results import columns as col
from twin.results.files import write_json, write_scenario
from twin.results.grid_topology import write_grid_topology
from twin.results.ledger_file import write_run_ledger
from twin.results.readers import read_table
from twin.results.recorder import RunRecorder
from twin.results.records import ev_detail_tables
from twin.results.run_folder import RunFolder
from twin.results.summary import failure_summary, results_fields, run_header
from twin.run.build import build_ems, build_fleets, build_grid_views, build_scenario_grid
from twin.run.hardware_link import LatenessMeter
from twin.run.pacing import WallClockPacer
from twin.run.progress import StepProgress
from twin.run.wiring import SIM_CONFIG, block_steps_of, wire_blocks, wire_stepwise
from twin.signals.scenario_signals import build_signal_series, ems_forecasts
from twin.signals.timebase import local_clock
from twin.sims.recorder_sim import StepObserver


@dataclass
class RunOutcome:
    out_dir: Path
    summary: dict[str, Any]
    fleets: dict[str, Fleet] = field(default_factory=dict)
    baselines: dict[str, Fleet] = field(default_factory=dict)


@contextlib.contextmanager
def _interrupts_seen() -> Iterator[list[int]]:
    """Record every SIGINT (and SIGTERM, when a handler such as the CLI's turns it into a
    KeyboardInterrupt) that arrives inside the block, then let the previous handler act."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen  # signal handlers can only be set from the main thread
        return
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        seen.append(signum)
        previous[signum](signum, frame)

    for sig in (signal.SIGINT, signal.SIGTERM):
        prev = signal.getsignal(sig)
        # Only where a handler raises (Python's default for SIGINT, the CLI's for SIGTERM): an
        # ignored SIGINT (a background job) or a default SIGTERM (terminate) stays as it was.
        if callable(prev):
            previous[sig] = prev
            signal.signal(sig, handler)
    try:
        yield seen
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)


@dataclass
class PreparedRun:
    """A built but not yet run co-simulation: everything a test may want to inspect per step."""

    scenario: Scenario
    out_dir: Path
    world: Any
    fleets: dict[str, Fleet]
    baselines: dict[str, Fleet]
    recorder: RunRecorder
    powerflow: Any
    profiles: Any
    bus_pos: dict[str, np.ndarray]
    base_summary: dict[str, Any]
    wall_start: float
    grid_views: Any = None
    """twin.run.build.GridViews: baseline/reference power flows, violation tallies, grid facts."""
    observers: list[StepObserver] = field(default_factory=list)
    """Called after each recorded step with (row, detail); append before run()."""
    hardware: Any = None
    """The HIL link (twin.run.hardware_link.HardwareLink) when the scenario binds physical chargers."""
    hil_events: list[dict] | None = None
    pacer: WallClockPacer = field(default_factory=WallClockPacer)
    """Paces the EMS step in real-time runs (enabled by run(rt_factor=...))."""
    block_steps: int = 1
    """Model steps per mosaik step (block_steps_of); observers of a block run after all of it."""
    summary: dict[str, Any] | None = None
    """summary.json as run() last wrote it (completed, interrupted or failed); None before."""
    folder: RunFolder | None = None
    """The claimed results folder (its lock is held until run() ends)."""
    live_signals: Any = None
    """The live signal sources (twin.run.live_signals.LiveSignals: OpenADR VENs), None without."""
    bid_plan: Any = None
    """twin.markets.bid_plan.BidPlan: the bids made before the run (`market.bidding`), or None."""
    topology_net: Any = None
    """The pandapower net whose grid_topology.parquet the run writes (outputs.grid_detail)."""

    def run(self, rt_factor: float | None = None, progress: bool = True) -> RunOutcome:
        """Run to the end and write results (see run_scenario)."""
        scenario, out_dir, recorder = self.scenario, self.out_dir, self.recorder
        status = "completed"
        incomplete: RuntimeError | None = None
        bar: StepProgress | None = None
        summary = dict(self.base_summary)
        lateness = LatenessMeter(rt_factor, pacer=self.pacer) if rt_factor else None
        if lateness is not None:
            self.observers.append(lateness)
        try:
            if self.hardware is not None:
                if rt_factor:
                    self.hardware.rt_factor = rt_factor  # maps the EVs' departures to sim time
                self.hardware.start()
            if self.live_signals is not None:
                self.live_signals.start()
            if self.topology_net is not None:
                # Once, not per step: what the detail tables' column ids are and where they sit.
                # Only now: a lab run whose chargers never came writes nothing that reads as a
                # result (hardware.start() raised above).
                write_grid_topology(out_dir, self.topology_net)
            # Lateness (wall clock behind simulated time) is measured and reported as p50/p99
            # in summary.json.
            self.pacer.start(rt_factor)
            if progress:  # model steps recorded (mosaik's bar counts simulated seconds)
                bar = StepProgress(scenario.n_steps, scenario.step, timezone=scenario.timezone)
                self.observers.append(bar)
            with _interrupts_seen() as seen:
                self.world.run(until=scenario.duration, print_progress=False)
            if seen:
                # mosaik catches a KeyboardInterrupt that lands inside its scheduler, logs
                # "Simulation canceled" and returns normally: without this the partial run
                # would be written and reported as completed.
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except Exception as exc:
            # A crash (or a problem found only when running, e.g. the CSMS port is taken) is not
            # a finished run: the recorded rows stay readable (parts) and the summary says why.
            status, why = failure_summary(exc)
            summary.update(why)
            raise
        finally:
            if bar is not None:
                bar.close()
            recorder.flush()
            if status == "completed":
                recorder.finalize()
                # Never "completed" for tables that do not hold every step (a part lost or
                # overwritten under the run's feet).
                short = {t: n for t, n in recorder.rows_written.items() if n != scenario.n_steps}
                if short:
                    status = "failed"
                    incomplete = RuntimeError(
                        "written tables do not hold every step: "
                        + ", ".join(
                            f"{t} has {n} of {scenario.n_steps} rows" for t, n in short.items()
                        )
                    )
                    summary.update(failure_summary(incomplete)[1])
            else:
                # mosaik leaves its loop half-way on Ctrl-C; close it so the process can exit.
                with contextlib.suppress(Exception):
                    self.world.shutdown()
            if self.hardware is not None:
                with contextlib.suppress(Exception):
                    self.hardware.stop()
                events = list(self.hil_events or [])
                write_json(out_dir / col.HIL_EVENTS_FILE, {"events": events})
                summary["hil"] = {
                    "chargers": [b.charger_id for b in self.hardware.bindings],
                    "events": len(events),
                }
                with contextlib.suppress(Exception):  # a summary is written whatever happens
                    summary["hil"]["per_charger"] = self.hardware.stats()
            if self.live_signals is not None:
                with contextlib.suppress(Exception):
                    self.live_signals.stop()
                with contextlib.suppress(Exception):  # a summary is written whatever happens
                    summary["openadr"] = self.live_signals.stats()
            if lateness is not None:
                summary["realtime"] = {"rt_factor": rt_factor, **lateness.summary()}
            summary["status"] = status
            summary["wall_time_s"] = round(time.perf_counter() - self.wall_start, 3)
            # A lab run whose chargers never became ready simulated nothing: no KPI or violation
            # block (zeros would read as a result).
            not_ready = status == "not_ready"
            try:
                if not not_ready:
                    table = read_table(out_dir, col.TIMESERIES)
                    summary.update(results_fields(scenario, table, self.fleets))
            except Exception as err:  # noqa: BLE001 - a summary must be written even if KPIs fail
                summary["kpis_error"] = str(err)
            if self.grid_views is not None and not not_ready:
                try:
                    summary.update(self._grid_summary())
                except Exception as err:  # noqa: BLE001 - as for the KPIs
                    summary["violations_error"] = str(err)
            if self.bid_plan is not None and not not_ready and "kpis_error" not in summary:
                with contextlib.suppress(Exception):  # a summary is written whatever happens
                    summary["bids"] = {
                        **self.bid_plan.summary,
                        **bid_outcome_of_run(self.bid_plan, table, self.fleets),
                    }
            if scenario.market is not None and not not_ready and "kpis_error" not in summary:
                try:
                    summary["ledger"] = write_run_ledger(out_dir, scenario, table)
                except Exception as err:  # noqa: BLE001 - as for the KPIs
                    summary["ledger_error"] = str(err)
            self.summary = summary
            write_json(out_dir / col.SUMMARY_FILE, summary)
            if self.folder is not None:
                self.folder.release()
        if incomplete is not None:
            raise incomplete
        return RunOutcome(
            out_dir=out_dir, summary=summary, fleets=self.fleets, baselines=self.baselines
        )

    def _grid_summary(self) -> dict[str, Any]:
        """`violations` (controlled and baseline, with the limits) and `grid` (how the base
        load and PV rows map to model steps, so anyone can re-solve a step)."""
        views, scenario = self.grid_views, self.scenario
        start = scenario.start_local

        def step_time(k: int) -> str:
            return (start + dt.timedelta(seconds=k * scenario.step)).isoformat()

        out: dict[str, Any] = {
            "violations": views.violations.summary(
                views.element_ids, views.element_names, step_time
            ),
            "grid": {"name": scenario.grid.name, **views.grid_facts},
        }
        model = views.ems_model
        if model is not None:
            out["grid"]["ems_model_power_flows"] = model.solves
        return out

    def hil_status(self) -> dict[str, Any] | None:
        """The hardware loop as live telemetry shows it, None without physical chargers: per
        charger id the link's status and latest reading (once run() started the link), and the
        last step's lateness, s (real-time runs)."""
        if self.hardware is None:
            return None
        chargers: dict[str, dict[str, Any]] = {}
        if self.hardware.bridge is not None:
            now = time.monotonic()
            for cid, state in self.hardware.status().items():
                chargers.setdefault(cid, {})["status"] = str(state)
            for cid, reading in self.hardware.readings().items():
                entry = chargers.setdefault(cid, {})
                entry["last_message_age_s"] = None if reading is None else now - reading.timestamp_s
                if reading is not None:
                    entry["charger_status"] = str(reading.status)
                    entry["energy_kwh"] = reading.energy_kwh
                    entry["soc"] = reading.soc
        meter = next((o for o in self.observers if isinstance(o, LatenessMeter)), None)
        late = meter.samples_s[-1] if meter is not None and meter.samples_s else None
        return {"chargers": chargers, "step_lateness_s": late}


def prepare_run(
    scenario: Scenario,
    out_dir: Path,
    *,
    observers: list[StepObserver] | None = None,
    realtime: bool = False,
) -> PreparedRun:
    """Build grid, fleets, EMS and the mosaik World; write scenario.yaml and a 'running' summary.

    `realtime`: the run will be paced (run(rt_factor=...)), so it steps one model step per
    mosaik step (block_steps_of).

    Raises:
        RunFolderError: the folder is another run's, or holds files no run wrote (nothing is
            written or deleted then; twin.results.run_folder).
        ScenarioError: something only building the run can find (grid parameters, site buses,
            signal files); summary.json then says `"status": "invalid"` with the problems.
    """
    folder = RunFolder.claim(out_dir)
    try:
        from twin.run.live_signals import build_live_signals

        live = build_live_signals(scenario, realtime)
        prepared = _build_run(
            scenario,
            Path(out_dir),
            observers if observers is not None else [],
            block_steps_of(scenario, realtime),
            live,
        )
    except BaseException as err:
        # A Ctrl-C while building is an interrupted run, not one left "running".
        status, why = (
            ("interrupted", {}) if isinstance(err, KeyboardInterrupt) else failure_summary(err)
        )
        write_json(
            Path(out_dir) / col.SUMMARY_FILE, {"scenario": scenario.name, "status": status, **why}
        )
        folder.release()
        raise
    prepared.folder = folder
    return prepared


def _build_run(
    scenario: Scenario,
    out_dir: Path,
    observers: list[StepObserver],
    block: int,
    live: Any = None,
) -> PreparedRun:
    from grids import GridProfiles, PowerFlow

    wall_start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_scenario(out_dir / col.SCENARIO_FILE, scenario_as_run(scenario))
    base_summary = run_header(scenario)
    write_json(out_dir / col.SUMMARY_FILE, base_summary)

    start = scenario.start_local
    net = build_scenario_grid(scenario)
    powerflow = PowerFlow(net, backend=scenario.grid.backend)
    profiles = GridProfiles.for_net(
        net,
        start,
        scenario.step,
        scenario.n_steps,
        load_scale=scenario.grid.load_scale,
        pv_scale=scenario.grid.pv_scale,
        seed=scenario.seed,
    )
    n_bus = len(powerflow.bus_ids)

    run_fleets = build_fleets(scenario, net, powerflow, start)
    fleets, baselines, bus_pos = run_fleets.fleets, run_fleets.baselines, run_fleets.bus_pos

    series = build_signal_series(
        scenario
    )  # before the World: a bad signal file leaves nothing open
    bid_plan = plan_bids_for_run(scenario, series, out_dir)
    recorder = RunRecorder(out_dir, chunk_steps=scenario.outputs.chunk_steps)
    world = mosaik.World(SIM_CONFIG, skip_greetings=True, configure_logging=False)
    timing: dict[str, Any] = {
        "step_s": scenario.step,
        "block_steps": block,
        "n_steps": scenario.n_steps,
    }
    ems = build_ems(scenario)
    ems.attach_forecast(ems_forecasts(scenario, series))  # what the EMS knows ahead: the tariff
    grid_views = build_grid_views(scenario, net, profiles, bus_pos, ems)
    grid = world.start("GridSim", **timing).Grid(
        powerflow=powerflow, profiles=profiles, **grid_views.sim_params()
    )
    pacer = WallClockPacer()
    signals = world.start("SignalSim", **timing).Signals(
        series=series,
        live=None if live is None else live.reader,
        pacer=None if live is None else pacer,
    )
    detail_tables: dict[str, tuple[str, list[str]]] = {}
    if scenario.outputs.grid_detail:
        buses = [str(b) for b in powerflow.bus_ids]
        ids = {
            "vm_pu": buses,
            "ev_p_mw": buses,
            "line_loading_pct": [str(i) for i in powerflow.line_ids],
            "trafo_loading_pct": [str(i) for i in powerflow.trafo_ids],
        }
        detail_tables |= {key: (col.GRID_DETAIL_TABLES[key], ids[key]) for key in ids}
        if scenario.outputs.baseline_grid:
            detail_tables |= {
                key: (table, ids[key.removeprefix("baseline_")])
                for key, table in col.GRID_BASELINE_DETAIL_TABLES.items()
            }
    per_ev = scenario.outputs.per_ev
    if per_ev:
        detail_tables |= ev_detail_tables(fleets)
    rec = world.start("RecorderSim", **timing).Recorder(
        recorder=recorder,
        start_utc=start.astimezone(dt.UTC),
        timezone=scenario.timezone,
        detail_tables=detail_tables,
        observers=observers,
    )
    clock = local_clock(start, scenario.step, scenario.n_steps)
    link, hil_events = None, None
    if block > 1:
        wire_blocks(
            world,
            timing,
            fleets,
            baselines,
            ems,
            bus_pos,
            n_bus,
            clock.second_of_day,
            scenario.step,
            per_ev,
            pacer,
            grid,
            signals,
            rec,
        )
    else:
        link, hil_events = wire_stepwise(
            world,
            scenario,
            fleets,
            baselines,
            ems,
            bus_pos,
            n_bus,
            clock.second_of_day,
            pacer,
            grid,
            signals,
            rec,
        )
    world.connect(signals, rec, "record")
    world.connect(grid, rec, "record")
    if scenario.outputs.grid_detail:
        world.connect(grid, rec, "detail")
    return PreparedRun(
        scenario=scenario,
        out_dir=out_dir,
        world=world,
        fleets=fleets,
        baselines=baselines,
        recorder=recorder,
        powerflow=powerflow,
        profiles=profiles,
        bus_pos=bus_pos,
        base_summary=base_summary,
        wall_start=wall_start,
        observers=observers,
        hardware=link,
        hil_events=hil_events,
        bid_plan=bid_plan,
        topology_net=net if scenario.outputs.grid_detail else None,
        pacer=pacer,
        block_steps=block,
        grid_views=grid_views,
        live_signals=live,
    )


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    rt_factor: float | None = None,
    progress: bool = True,
    observers: list[StepObserver] | None = None,
) -> RunOutcome:
    """Run the co-simulation and write results to `out_dir`; returns the summary.

    A KeyboardInterrupt (Ctrl-C, SIGTERM via the CLI) stops the run: rows recorded so far are
    flushed and summary.json says `"status": "interrupted"`; the exception is then re-raised.
    """
    return prepare_run(scenario, out_dir, observers=observers).run(
        rt_factor=rt_factor, progress=progress
    )


def plan_bids_for_run(scenario: Scenario, series: dict[str, np.ndarray], out_dir: Path) -> Any:
    """`market.bidding`: size the bids now, before the first step, write them, and hand the EMS
    the promised capacity as signals (twin/markets/bid_plan.py). None without bidding.

    Raises:
        ScenarioError: the history cannot be used (names the field and the problem).
    """
    if scenario.market is None or scenario.market.bidding is None:
        return None
    from twin.config import ScenarioError
    from twin.markets.bid_plan import plan_bids
    from twin.markets.history import HistoryError
    from twin.results.bids_file import write_bid_plan

    try:
        plan = plan_bids(scenario, series)
    except HistoryError as err:
        # A field of the scenario names itself; a history file's problem sits at `history`.
        if err.where.startswith(("market.", "fleets.", "history_days")):
            problem = (
                err.where if err.where.startswith(("market.", "fleets.")) else "market.bidding",
                err.problem,
            )
        else:
            problem = ("market.bidding.history", str(err))
        raise ScenarioError(scenario.source, [problem]) from None
    assert plan is not None
    series.update(plan.signals)
    write_bid_plan(out_dir, plan)
    return plan


def bid_outcome_of_run(plan: Any, table: Any, fleets: dict[str, Fleet]) -> dict[str, Any]:
    """The bids against the EVs the run really had plugged in."""
    from twin.markets.bid_plan import bid_outcome

    plugged = sum(table[col.fleet_plugged_count(f)].to_numpy() for f in fleets)
    return bid_outcome(plan.bids, table[col.TIME], np.asarray(plugged))
