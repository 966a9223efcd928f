"""`build_report(run_dir)`: every figure that applies to the run as a PNG in `figures/`, and
report.html with the KPI tables and the same figures inline, from the results folder alone."""

from __future__ import annotations

import gc
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.report import grid, long_run, power, studies
from twin.report.data import RunData, load_run_data
from twin.report.html import (
    figure_html,
    kpi_table,
    page,
    per_fleet_table,
    table_html,
    violations_html,
)
from twin.report.kpi_rows import (
    format_value,
    kpi_errors,
    kpi_rows,
    label_unit,
    per_fleet_columns,
)
from twin.report.style import FigureSpec, png_bytes
from twin.results import columns as col
from twin.results.run_folder import note_written

FIGURES: tuple[FigureSpec, ...] = (
    *power.FIGURES,
    *studies.FIGURES[:-1],
    *grid.FIGURES,
    *long_run.FIGURES,
    studies.FIGURES[-1],
)
"""Every figure of the report, in page order (a figure the run has nothing for is left out)."""


@dataclass
class Built:
    slug: str
    title: str
    section: str
    caption: str
    png: bytes
    path: Path


@dataclass
class Report:
    html_path: Path
    figures: list[Built]
    data: RunData
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    """Figures not drawn, with why (nothing to draw, or an error drawing it)."""


def draw_figures(
    data: RunData, out_dir: Path, only: Collection[str] | None = None
) -> tuple[list[Built], list[str], dict[str, float]]:
    figures_dir = out_dir / col.FIGURES_DIR
    figures_dir.mkdir(parents=True, exist_ok=True)
    for old in figures_dir.glob("*.png"):
        old.unlink()
    built: list[Built] = []
    skipped: list[str] = []
    seconds: dict[str, float] = {}
    for spec in FIGURES:
        if only is not None and spec.slug not in only:
            continue
        t0 = time.perf_counter()
        try:
            drawn = spec.draw(data)
        except Exception as err:  # noqa: BLE001 - one broken figure must not cost the report
            skipped.append(f"{spec.slug}: not drawn ({type(err).__name__}: {err})")
            continue
        if drawn is None:
            continue
        fig, caption = drawn
        png = png_bytes(fig)
        path = figures_dir / f"{spec.slug}.png"
        note_written(out_dir, path)  # a later run into the folder removes the stale report
        path.write_bytes(png)
        built.append(Built(spec.slug, spec.title, spec.section, caption, png, path))
        seconds[spec.slug] = round(time.perf_counter() - t0, 3)
    return built, skipped, seconds


def _span_text(data: RunData) -> str:
    idx = data.index
    step = data.step_s
    return (
        f"{idx[0]:%Y-%m-%d %H:%M} .. {idx[-1]:%Y-%m-%d %H:%M} ({data.timezone}), "
        f"{len(idx):,} steps of {step} s ({data.span_days:.3g} days)"
    )


def meta_rows(data: RunData) -> list[tuple[str, str]]:
    s = data.summary
    rows = [
        ("status", str(s.get("status", "?"))),
        ("period", _span_text(data)),
        (
            "steps recorded / planned",
            f"{s.get('steps', len(data.table))} / {s.get('steps_planned', '?')}",
        ),
        ("EVs", format_value(s.get("ev_count"))),
        ("fleets", ", ".join(data.fleets) or "none"),
        ("EMS services", ", ".join(data.services) or "unknown"),
        ("seed", str(s.get("seed", "?"))),
        ("wall time", f"{format_value(s.get('wall_time_s'))} s"),
    ]
    grid_name = (
        (data.scenario.get("grid") or {}).get("name")
        if isinstance(data.scenario.get("grid"), dict)
        else None
    )
    if grid_name:
        rows.append(("grid", str(grid_name)))
    versions = s.get("versions") or {}
    if versions:
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return rows


def hardware_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    hil = summary.get("hil")
    if isinstance(hil, dict):
        rows.append(("physical chargers", ", ".join(map(str, hil.get("chargers", []))) or "none"))
        rows.append(("link events", format_value(hil.get("events"))))
    rt = summary.get("realtime")
    if isinstance(rt, dict):
        for k, v in rt.items():
            unit = " s" if k.endswith("_s") else ""
            rows.append((k.replace("_", " "), f"{format_value(v)}{unit}"))
    return rows


def per_charger_html(summary: dict[str, Any]) -> str:
    """summary.json's `hil.per_charger` (charger id -> its link statistics) as one table."""
    per = (
        (summary.get("hil") or {}).get("per_charger")
        if isinstance(summary.get("hil"), dict)
        else None
    )
    if not isinstance(per, dict) or not per:
        return ""
    keys = list(dict.fromkeys(k for v in per.values() if isinstance(v, dict) for k in v))
    rows = [
        [str(cid), *(format_value(v.get(k)) if isinstance(v, dict) else "" for k in keys)]
        for cid, v in per.items()
    ]
    labels = [label_unit(k) for k in keys]
    headers = ["charger", *(f"{lab} ({unit})" if unit else lab for lab, unit in labels)]
    return "<h3>Per charger</h3>" + table_html(headers, rows, [False, *([True] * len(keys))])


_LEDGER_FIELDS = (
    "commanded_kwh",
    "delivered_kwh",
    "payment",
    "penalty",
    "net",
    "energy_kwh",
    "baseline_energy_kwh",
    "bill",
    "bill_without_service",
)


def settlement_html(summary: dict[str, Any]) -> str:
    """summary.json's `ledger.totals` (product or `customer_bill:<fleet>` -> sums) as one table,
    with the ledger's head hash so a reader can check the file it came from (`twin verify`)."""
    ledger = summary.get("ledger")
    if not isinstance(ledger, dict):
        return ""
    totals = ledger.get("totals")
    if not isinstance(totals, dict) or not totals:
        return ""
    currency = str(ledger.get("currency", ""))
    keys = [
        k for k in _LEDGER_FIELDS if any(k in v for v in totals.values() if isinstance(v, dict))
    ]
    rows = [
        [str(name), *(format_value(v.get(k)) if isinstance(v, dict) else "" for k in keys)]
        for name, v in totals.items()
    ]
    headers = [
        "product / party",
        *(
            f"{k.removesuffix('_kwh').replace('_', ' ')} ({'kWh' if k.endswith('_kwh') else currency})"
            for k in keys
        ),
    ]
    head = str(ledger.get("head_hash") or "")[:16]
    note = (
        f"<p>{format_value(ledger.get('entries'))} ledger entries of "
        f"{format_value(ledger.get('interval_s'))} s, head hash {head} (check with "
        "<code>twin verify</code>).</p>"
    )
    return note + table_html(headers, rows, [False, *([True] * len(keys))])


def sections_html(data: RunData, built: list[Built], out_dir: Path) -> list[tuple[str, str]]:
    sections: list[tuple[str, str]] = []
    rows = kpi_rows(data.kpis, data.has_windows)
    kpi_html = kpi_table(rows) if rows else "<p>No KPIs in summary.json.</p>"
    per_fleet = data.kpis.get("per_fleet")
    if isinstance(per_fleet, dict) and per_fleet:
        kpi_html += "<h3>Per fleet</h3>" + per_fleet_table(
            per_fleet, per_fleet_columns(per_fleet, data.has_windows)
        )
    sections.append(("KPIs", kpi_html))
    if data.violations:
        sections.append(
            ("Grid violations: controlled vs baseline", violations_html(data.violations))
        )
    settlement = settlement_html(data.summary)
    if settlement:
        sections.append(("Settlement", settlement))
    hw = hardware_rows(data.summary)
    hw_html = (table_html(["", ""], hw) if hw else "") + per_charger_html(data.summary)
    by_section: dict[str, list[Built]] = {}
    for b in built:
        by_section.setdefault(b.section, []).append(b)
    for section, figs in by_section.items():
        html = "".join(
            figure_html(b.slug, b.title, b.caption, b.png, b.path.relative_to(out_dir).as_posix())
            for b in figs
        )
        if section == studies.HARDWARE and hw_html:
            html = hw_html + html
            hw_html = ""
        sections.append((section, html))
    if hw_html:
        sections.append((studies.HARDWARE, hw_html))
    return sections


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: matplotlib allocates hundreds of thousands of small
    objects per report and the collector ran some 150 times scanning them (about a tenth of a
    year-long report's time). The finished figures' cycles (about 20 MB for a year-long city
    run) wait for the first collection after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_report(
    run_dir: Path | str, out_dir: Path | str | None = None, only: Collection[str] | None = None
) -> Report:
    """Draw the run's figures into `<out>/figures/` and write `<out>/report.html` (out defaults
    to the run folder); `only`: just the figures with these slugs.

    Raises:
        ResultsError: not a results folder, or one without a recorded step.
    """
    with cyclic_gc_paused():
        return _build_report(run_dir, out_dir, only)


def _build_report(
    run_dir: Path | str, out_dir: Path | str | None, only: Collection[str] | None
) -> Report:
    t0 = time.perf_counter()
    data = load_run_data(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_load = time.perf_counter() - t0
    built, skipped, seconds = draw_figures(data, out, only)
    notes = [*data.notes, *kpi_errors(data.kpis), *skipped]
    if data.summary.get("status") != "completed":
        notes.insert(
            0,
            f"run {data.summary.get('status')}: the figures show the {len(data.table):,} steps recorded",
        )
    description = str(data.scenario.get("description") or "")
    html = page(
        f"Run report: {data.name}",
        description,
        meta_rows(data),
        notes,
        sections_html(data, built, out),
    )
    html_path = out / col.REPORT_FILE
    note_written(out, html_path)
    html_path.write_text(html, encoding="utf-8")
    seconds = {"load": round(t_load, 3), **seconds, "total": round(time.perf_counter() - t0, 3)}
    return Report(html_path=html_path, figures=built, data=data, seconds=seconds, skipped=skipped)
