"""Live signals of a real-time run: the scenario's `source: openadr` entries, one VEN per
(vtn_url, ven_name), writing into one buffer the signal simulator reads every step
(twin/sims/signal_sim.py overlays them on the series, so the EMS and the results see them
exactly like file signals: `signal.<name>` columns, ctx.signals).

Virtual runs read files; a live source needs a real-time run (one model step per mosaik step,
paced by the wall clock), so prepare_run refuses it otherwise with the field named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.config import ScenarioError
from twin.config.schema import Scenario
from twin.signals.live import LiveSignalBuffer, LiveSignalReader
from twin.signals.registry import LIVE_SOURCES
from twin.signals.scenario_signals import SIGNAL_NAMES


def live_entries(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Signal kind -> its scenario entry, for the entries with a live source."""
    out = {}
    for kind in SIGNAL_NAMES:
        params = getattr(scenario.signals, kind)
        if isinstance(params, dict) and params.get("source") in LIVE_SOURCES:
            out[kind] = params
    return out


@dataclass
class LiveSignals:
    """The run's VENs and the reader the signal simulator asks each step."""

    reader: LiveSignalReader
    source: str
    """The scenario file (for error messages)."""
    specs: list[tuple[str, str, dict[str, Any], str]]
    """One (vtn_url, ven_name, entry, signal kind) per VEN."""
    vens: list[Any] = field(default_factory=list)

    def start(self) -> None:
        """Start every VEN and wait until each is registered with its VTN.

        Raises:
            ScenarioError: credentials unusable, or a VTN not reachable within connect_timeout_s.
        """
        from adapters.openadr.ven import OpenAdrVen, load_credentials

        for url, name, params, kind in self.specs:
            try:
                creds = load_credentials(
                    params.get("credentials_env"), params.get("credentials_file")
                )
            except ValueError as err:
                raise ScenarioError(
                    self.source, [(f"signals.{kind}.credentials_env", str(err))]
                ) from None
            ven = OpenAdrVen(url, name, self.reader.buffer, creds)
            try:
                ven.start(float(params.get("connect_timeout_s", 30.0)))
            except TimeoutError as err:
                raise ScenarioError(self.source, [(f"signals.{kind}.vtn_url", str(err))]) from None
            self.vens.append(ven)

    def stop(self) -> None:
        for ven in self.vens:
            ven.stop()

    def stats(self) -> dict[str, Any]:
        return {"vens": [v.stats() for v in self.vens], **self.reader.buffer.counts()}


def build_live_signals(scenario: Scenario, realtime: bool) -> LiveSignals | None:
    """The run's live signals, None without a live source.

    Raises:
        ScenarioError: a live source in a run that is not real-time, or entries that disagree
            on the clock.
    """
    entries = live_entries(scenario)
    if not entries:
        return None
    if not realtime:
        kind = next(iter(entries))
        raise ScenarioError(
            scenario.source,
            [
                (
                    f"signals.{kind}.source",
                    "openadr is a live source: run it in real time (twin run --realtime or "
                    "--rt-factor); virtual runs read signals from files (source: csv)",
                )
            ],
        )
    clocks = {p.get("clock", "scenario") for p in entries.values()}
    if len(clocks) > 1:
        kind = next(iter(entries))
        raise ScenarioError(
            scenario.source,
            [(f"signals.{kind}.clock", "every openadr entry must use the same clock")],
        )
    buffer = LiveSignalBuffer()
    reader = LiveSignalReader(
        buffer,
        {SIGNAL_NAMES[kind]: 0.0 for kind in entries},
        scenario.start_local,
        clock=clocks.pop(),
    )
    specs: dict[tuple[str, str], tuple[str, str, dict[str, Any], str]] = {}
    for kind, params in entries.items():
        key = (str(params["vtn_url"]), str(params["ven_name"]))
        specs.setdefault(key, (*key, params, kind))
    return LiveSignals(reader, str(scenario.source), list(specs.values()))
